/**
 * A Chromium for browser tests. Playwright's own browser download cannot work
 * everywhere (closed networks), so the tests use the system's Chromium:
 * `CHROMIUM_PATH`, else `/usr/bin/chromium`, installed with apt when the
 * process may (root on Debian or Ubuntu). Anywhere else the error is one line
 * that says what to install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** No Chromium, and it could not be installed here. */
export class ChromiumUnavailableError extends Error {
  /** Always `ChromiumUnavailableError`. */
  override name = 'ChromiumUnavailableError';
}

/** Path of a Chromium to launch; installs Debian's `chromium` when root with apt. */
export function ensureChromium(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (env.CHROMIUM_PATH) {
    throw new ChromiumUnavailableError(`CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist.`);
  }
  const root = process.getuid?.() === 0;
  const apt = spawnSync('apt-get', ['--version']).status === 0;
  if (!root || !apt) {
    throw new ChromiumUnavailableError(
      'The browser tests need Chromium: run `sudo apt-get install -y chromium` (Debian/Ubuntu), ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, { env: aptEnv, encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || '').trim().split('\n').pop();
      throw new ChromiumUnavailableError(`apt-get ${args.join(' ')} failed: ${why}`);
    }
  }
  if (!existsSync(path))
    throw new ChromiumUnavailableError(`apt installed chromium, but ${path} is missing.`);
  return path;
}
