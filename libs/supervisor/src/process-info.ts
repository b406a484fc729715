/**
 * Facts about other processes, for cleaning up after a supervisor that was
 * killed (SIGKILL leaves its nats-server running): is a pid alive, and is it
 * still the program we started (pids are reused)?
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or `undefined`. Linux /proc first, `ps` elsewhere. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() || undefined;
  } catch {
    const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() || undefined : undefined;
  }
}

/** SIGKILL `pid` (and its process group) if it is alive and its command line contains `marker`. */
export function killIfOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  if (!cmd || !cmd.includes(marker)) return false;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return true;
    } catch {
      // try the next form
    }
  }
  return false;
}
