// A test run that must not reach anything outside this machine checks that it has
// network and mount namespaces of its own holding only loopback (unshare made them),
// then brings loopback up.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

export type Namespaces = { net: string; mnt: string };

export function namespacesOf(pid: string): Namespaces | null {
  try {
    return { net: readlinkSync(`/proc/${pid}/ns/net`), mnt: readlinkSync(`/proc/${pid}/ns/mnt`) };
  } catch {
    return null; // another process's links may be unreadable even to root in a container
  }
}

/**
 * Refuses to bind port 53 or mount anything unless this process has its own network and mount
 * namespaces: compared with the caller's (passed in `outer`), or else with init's; and the network
 * namespace must hold nothing but loopback.
 */
export function assertIsolated(outer: Namespaces | undefined, script: string): void {
  const mine = namespacesOf('self');
  const other = outer ?? (process.pid === 1 ? null : namespacesOf('1'));
  for (const ns of ['net', 'mnt'] as const) {
    if (!mine || (other && other[ns] === mine[ns])) {
      throw new Error(
        `${script} must run in its own network and mount namespaces (${ns} is shared): unshare --net --mount --pid --fork --mount-proc --kill-child -- node --import tsx ${script} <json>`,
      );
    }
  }
  // /proc/net is this process's own network namespace's view (/sys/class/net would be the host's here).
  const ifaces = readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]?.trim())
    .filter(Boolean);
  if (ifaces.some((i) => i !== 'lo'))
    throw new Error(`this network namespace has interfaces besides loopback (${ifaces.join(', ')}): refusing to run`);
}

/** A new network namespace has loopback down: nothing on 127.0.0.1 answers until it is up. */
export function loopbackUp(): void {
  try {
    execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    throw new Error(
      err.code === 'ENOENT'
        ? "`ip` is not installed (Debian: apt-get install iproute2): it brings loopback up in the run's network namespace"
        : `ip link set lo up failed: ${String(err.stderr ?? err.message).trim()}`,
      { cause: e },
    );
  }
}
