// Retention (KIRO_JOB_RETENTION_DAYS): finished jobs older than that lose their record,
// their log and any sandbox folder left of them. The embedded queue forgets them itself;
// a fleet's records expire in Redis (their last save sets the lifetime), and each host
// sweeps what it keeps on its own disk.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { statePath } from './paths.js';

export const DAY_MS = 86_400_000;
/** How often a host sweeps (also once at start). */
export const SWEEP_EVERY_MS = 3600_000;

/** Removes a job's log file and sandbox folder on this host (whichever exist). */
export async function removeJobFiles(stateDir: string, id: string): Promise<void> {
  await rm(statePath(stateDir, 'logs', `${id}.log`), { force: true });
  await rm(statePath(stateDir, 'sandbox', id), { recursive: true, force: true, maxRetries: 3 });
}

/**
 * A fleet host's own disk: log files and sandbox folders not touched since `cutoffMs`
 * and not of a job `running(id)` here. Returns how many jobs' files went.
 */
export async function sweepJobFiles(stateDir: string, cutoffMs: number, running: (id: string) => boolean): Promise<number> {
  const ids = new Set<string>();
  const old = async (dir: string, name: string) => {
    try {
      return (await stat(join(dir, name))).mtimeMs < cutoffMs;
    } catch {
      return false;
    }
  };
  for (const [sub, idOf] of [
    ['logs', (n: string) => (n.endsWith('.log') ? n.slice(0, -4) : null)],
    ['sandbox', (n: string) => n],
  ] as const) {
    const dir = join(stateDir, sub);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const id = idOf(name);
      if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id) || running(id)) continue;
      if (await old(dir, name)) ids.add(id);
    }
  }
  for (const id of ids) await removeJobFiles(stateDir, id);
  return ids.size;
}
