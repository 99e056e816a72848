// A control group per job, for the limits the kernel enforces on a whole tree of
// processes: memory and the number of processes (a fork bomb meets pids.max).
// cgroup v2 where the service's own group can delegate memory and pids; else the
// v1 memory and pids hierarchies (hybrid hosts); else nothing, and the caller
// falls back to rlimits. The agent joins its group before it execs (see
// sandbox.ts), so no child escapes by forking early.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
}

export type CgroupViolation = 'memory' | 'processes';

export interface JobCgroup {
  /** cgroup.procs files the agent writes its pid into before exec. */
  procsFiles: string[];
  /** Which limit the group has hit so far, if any. */
  violation(): Promise<CgroupViolation | null>;
  /** SIGKILLs whatever is left in the group and removes it. */
  destroy(): Promise<void>;
}

export interface CgroupDriver {
  readonly kind: 'v2' | 'v1' | 'none';
  create(name: string, limits: CgroupLimits): Promise<JobCgroup | null>;
}

async function readInt(file: string, key: string): Promise<number> {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(await readFile(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function killAll(procsFiles: string[]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pids = new Set<number>();
    for (const f of procsFiles) {
      const text = await readFile(f, 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line.trim()) pids.add(Number(line));
    }
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 10 * (round + 1)));
  }
}

async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 10 * (i + 1))); // EBUSY until the last member is reaped
    }
  }
}

/** cgroup v2: `<parent>/<name>` with memory.max and pids.max; the kernel counts OOM kills and refused forks. */
export function cgroupV2(parent: string): CgroupDriver {
  let ready: Promise<void> | null = null;
  return {
    kind: 'v2',
    async create(name, limits) {
      // Job groups are children of `parent`, which hands them memory and pids.
      ready ??= mkdir(parent, { recursive: true }).then(() => writeFile(join(parent, 'cgroup.subtree_control'), '+memory +pids'));
      await ready;
      const dir = join(parent, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
      await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      await writeFile(join(dir, 'pids.max'), String(limits.maxProcesses));
      return {
        procsFiles: [join(dir, 'cgroup.procs')],
        async violation() {
          if ((await readInt(join(dir, 'memory.events'), 'oom_kill')) > 0) return 'memory';
          if ((await readInt(join(dir, 'pids.events'), 'max')) > 0) return 'processes';
          return null;
        },
        async destroy() {
          // cgroup.kill (Linux 5.14) kills the whole group at once; older kernels get the loop.
          await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
          await killAll([join(dir, 'cgroup.procs')]);
          await removeDir(dir);
        },
      };
    },
  };
}

const hasControllers = (text: string) => /\bmemory\b/.test(text) && /\bpids\b/.test(text);

/**
 * A delegated v2 group (systemd `Delegate=yes`) holds the service itself, and a
 * group with processes cannot hand controllers to children ("no internal
 * processes"): the service moves into a leaf `service/` first, then enables
 * memory and pids below its group. Returns the parent for job groups, or null.
 */
export async function delegateV2(own: string, pid = process.pid): Promise<string | null> {
  const available = await readFile(join(own, 'cgroup.controllers'), 'utf8').catch(() => '');
  if (!hasControllers(available) || !(await writable(own))) return null;
  const enabled = await readFile(join(own, 'cgroup.subtree_control'), 'utf8').catch(() => '');
  if (!hasControllers(enabled)) {
    try {
      const leaf = join(own, 'service');
      await mkdir(leaf, { recursive: true });
      const members = (await readFile(join(own, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter((l) => l.trim());
      for (const member of new Set([String(pid), ...members])) await writeFile(join(leaf, 'cgroup.procs'), member).catch(() => undefined);
      await writeFile(join(own, 'cgroup.subtree_control'), '+memory +pids');
    } catch {
      return null;
    }
  }
  return join(own, 'kiro-jobs');
}

/** cgroup v1 (hybrid hosts): one group in the memory hierarchy and one in the pids hierarchy. */
export function cgroupV1(memoryRoot: string, pidsRoot: string): CgroupDriver {
  return {
    kind: 'v1',
    async create(name, limits) {
      const mem = join(memoryRoot, name);
      const pids = join(pidsRoot, name);
      await mkdir(mem, { recursive: true });
      await mkdir(pids, { recursive: true });
      await writeFile(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      await writeFile(join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)).catch(() => undefined);
      await writeFile(join(pids, 'pids.max'), String(limits.maxProcesses));
      const procsFiles = [join(mem, 'cgroup.procs'), join(pids, 'cgroup.procs')];
      return {
        procsFiles,
        async violation() {
          if ((await readInt(join(mem, 'memory.oom_control'), 'oom_kill')) > 0) return 'memory';
          if ((await readInt(join(pids, 'pids.events'), 'max')) > 0) return 'processes';
          return null;
        },
        async destroy() {
          await killAll(procsFiles);
          await removeDir(mem);
          await removeDir(pids);
        },
      };
    },
  };
}

/** The service's own group in a cgroup file (v2 line `0::/path`, v1 lines `N:controller:/path`). */
export function ownGroups(procSelfCgroup: string): { v2?: string; v1: Record<string, string> } {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers = '', path = ''] = m;
    if (controllers === '') v2 = path;
    for (const c of controllers.split(',')) if (c) v1[c] = path;
  }
  return { v2, v1 };
}

async function writable(dir: string): Promise<boolean> {
  const probe = join(dir, `kiro-probe-${process.pid}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the driver this host allows. For v2 the service's group must offer
 * memory and pids and be writable by the service (systemd: `Delegate=yes`; the
 * README shows the unit).
 */
export async function detectCgroups(root = '/sys/fs/cgroup', selfCgroup = '/proc/self/cgroup'): Promise<CgroupDriver> {
  const own = ownGroups(existsSync(selfCgroup) ? readFileSync(selfCgroup, 'utf8') : '');
  const unified = existsSync(join(root, 'cgroup.controllers'))
    ? root
    : existsSync(join(root, 'unified', 'cgroup.controllers'))
      ? join(root, 'unified')
      : null;
  if (unified && own.v2 !== undefined) {
    const parent = await delegateV2(join(unified, own.v2));
    if (parent) return cgroupV2(parent);
  }
  const mem = own.v1.memory !== undefined ? join(root, 'memory', own.v1.memory) : null;
  const pids = own.v1.pids !== undefined ? join(root, 'pids', own.v1.pids) : null;
  if (
    mem &&
    pids &&
    existsSync(join(mem, 'memory.limit_in_bytes')) &&
    existsSync(join(pids, 'cgroup.procs')) &&
    (await writable(mem)) &&
    (await writable(pids))
  ) {
    return cgroupV1(join(mem, 'kiro-jobs'), join(pids, 'kiro-jobs'));
  }
  return { kind: 'none', create: async () => null };
}
