/**
 * Making a storage node's directory unusable while a service writes to it.
 * Tests run as root, and root ignores permission bits, so `chmod a-w` proves
 * nothing. Instead:
 * - `removed`: the directory is renamed away (every path under it is gone:
 *   ENOENT), and renamed back to restore it;
 * - `read-only`: the directory is bind-mounted read-only over itself (EROFS
 *   for root too), and unmounted to restore it. This needs CAP_SYS_ADMIN; where
 *   mounting is not allowed the fault falls back to `replaced-by-file`: the
 *   directory is moved away and a regular file takes its path (ENOTDIR).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

export type DirFaultKind = 'removed' | 'read-only' | 'replaced-by-file';

export interface DirFault {
  /** The fault actually applied (read-only may fall back). */
  kind: DirFaultKind;
  restore(): Promise<void>;
}

function run(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

/**
 * Bind-mount `dir` read-only over itself in one step: the read-only bind is
 * made at a private path first (no writer has files open there, so the
 * remount cannot fail with EBUSY), then bound over `dir` (a bind of a
 * read-only mount is read-only). Restored with lazy unmounts, which never
 * fail on files still open. Undefined where mounting is not allowed.
 */
function readOnlyOverlay(dir: string): DirFault | undefined {
  const staging = `${dir}.ro-staging`;
  mkdirSync(staging, { recursive: true });
  const steps: Array<[string, string[]]> = [
    ['mount', ['--bind', dir, staging]],
    ['mount', ['-o', 'remount,bind,ro', staging]],
    ['mount', ['--bind', staging, dir]],
  ];
  const undo = (): void => {
    run('umount', ['-l', dir]);
    run('umount', ['-l', staging]);
    rmSync(staging, { recursive: true, force: true });
  };
  for (const [cmd, args] of steps) {
    if (run(cmd, args).ok) continue;
    run('umount', ['-l', staging]);
    rmSync(staging, { recursive: true, force: true });
    return undefined;
  }
  return {
    kind: 'read-only',
    restore: async () => {
      const u = run('umount', ['-l', dir]);
      if (!u.ok) throw new Error(`umount ${dir}: ${u.err}`);
      undo();
    },
  };
}

export async function breakDir(dir: string, kind: 'removed' | 'read-only'): Promise<DirFault> {
  if (kind === 'read-only') {
    const overlay = readOnlyOverlay(dir);
    if (overlay) return overlay;
    await rename(dir, `${dir}.away`);
    await writeFile(dir, 'not a directory\n');
    return {
      kind: 'replaced-by-file',
      restore: async () => {
        await rm(dir, { force: true });
        await rename(`${dir}.away`, dir);
      },
    };
  }
  await rename(dir, `${dir}.away`);
  return { kind: 'removed', restore: () => rename(`${dir}.away`, dir) };
}
