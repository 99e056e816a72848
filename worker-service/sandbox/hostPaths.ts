// What of the host an agent's sandbox is built from: whether bubblewrap works here, the paths no agent may see, a
// path's real location, the command that puts the agent in its control group, and the
// disk its job uses (the limit the kernel does not enforce).
import { execFile } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import type { HiddenPath } from './bwrapArgs.js';
import type { JobCgroup } from './cgroup.js';

const run = promisify(execFile);

/** Directories and files no agent may see, whatever else it is allowed. */
export const ALWAYS_HIDDEN = [
  '/home',
  '/root',
  '/run',
  '/mnt',
  '/media',
  '/srv',
  '/var/lib',
  '/var/log',
  '/var/mail',
  '/var/spool',
  '/var/backups',
  '/var/tmp',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/ssh',
  '/etc/kiro-worker',
];

export function hiddenPaths(paths: (string | undefined)[]): HiddenPath[] {
  const out: HiddenPath[] = [];
  for (const p of paths) {
    if (!p) continue;
    try {
      out.push({ path: p, kind: statSync(p).isDirectory() ? 'dir' : 'file' });
    } catch {
      /* nothing there to hide */
    }
  }
  return out;
}

export function safeRealpath(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/** A one-line POSIX sh that writes its own pid into each cgroup.procs, then execs the rest: the agent starts inside its group. */
export function joinCgroupArgv(cgroup: JobCgroup): string[] {
  const script =
    'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "kiro-worker: cannot join $1" >&2; exit 125; }; shift; done; shift; exec "$@"';
  return ['/bin/sh', '-c', script, 'kiro-sandbox', ...cgroup.procsFiles, '--'];
}

/** Bytes on disk under the given paths (du: symlinks are not followed, hard links counted once). */
export async function diskUse(paths: string[]): Promise<number | null> {
  try {
    const { stdout } = await run('du', ['-s', '-B1', '-c', '--', ...paths.filter((p) => existsSync(p))], {
      timeout: 30_000,
      maxBuffer: 1024 * 1024,
    });
    const total = /^(\d+)\s+total$/m.exec(stdout);
    return total ? Number(total[1]) : null;
  } catch {
    return null; // unknown this time (not "empty"): the next check tries again
  }
}

/** Why bubblewrap cannot make a sandbox here now, or null when it can. */
export async function bwrapProblem(): Promise<string | null> {
  try {
    await run(
      'bwrap',
      [
        '--unshare-all',
        '--unshare-user',
        '--disable-userns',
        '--cap-drop',
        'ALL',
        '--die-with-parent',
        '--ro-bind',
        '/',
        '/',
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--',
        'true',
      ],
      { timeout: 10_000 },
    );
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      return 'bubblewrap (bwrap) is not installed, and every agent runs inside it: install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or set KIRO_SANDBOX=off to run agents unconfined (not for shared hosts)';
    }
    return (
      `bubblewrap could not make a sandbox here (${(err.stderr ?? err.message).trim()}): the service needs user namespaces ` +
      '(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 24.04+ also kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), ' +
      'or set KIRO_SANDBOX=off to run agents unconfined (not for shared hosts)'
    );
  }
}
