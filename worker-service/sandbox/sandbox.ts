// The sandbox each agent runs in: checks at start that bubblewrap can make one
// (the service refuses to start otherwise; only KIRO_SANDBOX=off runs agents
// unconfined), and per job builds the argv, the private HOME, the control group
// and the watch on the limits the kernel does not enforce (disk, output).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SandboxConfig, WorkerConfig } from '../config.js';
import { bwrapArgs, isWithin, proxied, proxyEnv, sandboxedArgv, SANDBOX_HOME, type SandboxLayout } from './bwrapArgs.js';
import { detectCgroups, type CgroupDriver } from './cgroup.js';
import { ForbiddenTargets, redisTarget, type Lookup } from './egressPolicy.js';
import type { EgressLog } from './egressProxy.js';
import { startJobEgress, type BlockedTarget } from './jobEgress.js';
import { statePath } from '../jobs/paths.js';
import { ALWAYS_HIDDEN, bwrapProblem, diskUse, hiddenPaths, joinCgroupArgv, safeRealpath } from './hostPaths.js';

export class SandboxUnavailableError extends Error {
  readonly code = 'SANDBOX_UNAVAILABLE';
  static is(e: unknown): e is SandboxUnavailableError {
    return e instanceof SandboxUnavailableError;
  }
}

export type LimitViolation = { code: 'MEMORY_LIMIT' | 'PROCESS_LIMIT' | 'DISK_LIMIT' | 'OUTPUT_LIMIT'; message: string };

export interface SandboxStatus {
  enabled: boolean;
  /** How memory and processes are limited: cgroup v2, v1, or rlimits only. */
  limits: 'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'none';
  /** The policy in force, for people: "allow: api.anthropic.com:443 + 17 more (default)", "open: any public address", "none". */
  network: string;
  /** Under `allow` every host agents may reach; under `open` those reached even at a private address. */
  allowHosts?: string[];
  warning: string | null;
}

export interface JobSandbox {
  /** The full argv for the pty: cgroup join, rlimits, bwrap, the agent. */
  argv: string[];
  env: Record<string, string>;
  /** Checks the limits the kernel does not enforce, and those it counts (cgroup events). */
  check(outputBytes: number): Promise<LimitViolation | null>;
  /** What its egress proxy refused so far (at most MAX_BLOCKED destinations). */
  blocked(): BlockedTarget[];
  /** Kills whatever is left, removes the control group and the private HOME. */
  release(): Promise<void>;
}

export interface SandboxRuntimeOptions {
  config: WorkerConfig;
  /** The built egress bridge (dist/worker/net-bridge.mjs). */
  bridgePath?: string;
  /** The ports this worker listens on, asked at each connection (known only once it listens); else KIRO_WORKER_PORT. */
  workerPorts?: () => readonly number[];
  /** Where the egress proxies log their refusals. */
  egressLog?: EgressLog;
  /** Resolves names for the egress proxies (tests); the system resolver by default. */
  lookup?: Lookup;
  /** The service's own secrets files, hidden from agents (config file, App key). */
  secretFiles?: (string | undefined)[];
  /** The service's HOME, hidden from agents. */
  serviceHome?: string;
  cgroups?: CgroupDriver;
  /** Told when a job's cgroup cannot be made (the job then runs under rlimits). */
  onWarning?: (message: string) => void;
}

/** How long a readiness probe's answer stands. */
const READY_PROBE_MS = 5_000;

export class SandboxRuntime {
  private cgroups: CgroupDriver = { kind: 'none', create: async () => null };
  private readonly sb: SandboxConfig;
  /** The last job whose cgroup could not be made, and why: shown in /health until a cgroup is made again. */
  private cgroupFailure: string | null = null;

  /** The last readiness probe (usable()): when it started and what it found. */
  private probe: { at: number; result: Promise<string | null> } | undefined;

  /** What no agent may reach (link-local, this worker, Redis), shared by every job's proxy. */
  private readonly forbidden: ForbiddenTargets;

  constructor(private readonly opts: SandboxRuntimeOptions) {
    this.sb = opts.config.sandbox;
    const { config } = opts;
    this.forbidden = new ForbiddenTargets({
      // KIRO_WORKER_PORT, and whatever the server really listens on (port 0: chosen at listen time).
      workerPorts: () => [...(config.port ? [config.port] : []), ...(opts.workerPorts?.() ?? [])],
      redis: redisTarget(config.fleet?.redisUrl),
      lookup: opts.lookup,
    });
  }

  get enabled(): boolean {
    return this.sb.enabled;
  }

  /**
   * GET /readyz: whether agents can still be confined (bwrap removed, user namespaces
   * turned off since start), asked again at most every READY_PROBE_MS.
   */
  async usable(): Promise<string | null> {
    if (!this.sb.enabled) return null;
    // One probe at a time: callers meanwhile share its answer (bwrapProblem never rejects).
    if (!this.probe || Date.now() - this.probe.at > READY_PROBE_MS) this.probe = { at: Date.now(), result: bwrapProblem() };
    return this.probe.result;
  }

  /** Refuses (throws) when agents cannot be confined here; KIRO_SANDBOX=off skips the check. */
  async init(): Promise<void> {
    if (!this.sb.enabled) return;
    const problem = await bwrapProblem();
    if (problem) throw new SandboxUnavailableError(problem);
    if (proxied(this.sb.network) && !(this.opts.bridgePath && existsSync(this.opts.bridgePath))) {
      const which =
        this.sb.network.mode === 'allow' && this.sb.network.default
          ? "the default KIRO_AGENT_NETWORK (the agent's API hosts)"
          : `KIRO_AGENT_NETWORK=${this.sb.network.mode}`;
      throw new SandboxUnavailableError(`${which} needs the egress bridge (dist/worker/net-bridge.mjs): run npm run build`);
    }
    this.cgroups = this.opts.cgroups ?? (await detectCgroups());
  }

  status(): SandboxStatus {
    if (!this.sb.enabled) {
      return {
        enabled: false,
        limits: 'none',
        network: 'host (unconfined)',
        warning: "KIRO_SANDBOX=off: agents run unconfined, with the service's view of this host (its files, processes and network)",
      };
    }
    const limits = this.cgroups.kind === 'none' ? 'rlimit' : (`cgroup-${this.cgroups.kind}` as const);
    const warnings = [
      ...(limits === 'rlimit'
        ? ['no writable cgroup for agents: memory is limited by RLIMIT_AS and processes by RLIMIT_NPROC (per user, and not for root)']
        : []),
      ...(this.cgroupFailure ? [this.cgroupFailure] : []),
    ];
    return { enabled: true, limits, ...describeNetwork(this.sb.network), warning: warnings.length ? warnings.join('; ') : null };
  }

  /** The hidden paths and read-only binds for one job, and the agent's HOME and environment. */
  async prepare(job: {
    id: string;
    tree: string;
    gitDirs: string[];
    agentPath: string;
    agentArgv: string[];
    env: Record<string, string>;
    /** Told of each destination its egress proxy refuses, the first time (at most MAX_BLOCKED of them). */
    onBlocked?: (b: BlockedTarget) => void;
  }): Promise<JobSandbox> {
    const { config } = this.opts;
    // Checked to stay inside the state folder: the folder is emptied with rm -rf below and at release.
    const home = statePath(config.stateDir, 'sandbox', job.id, 'home');
    await rm(dirname(home), { recursive: true, force: true });
    await mkdir(home, { recursive: true, mode: 0o700 });
    if (this.sb.homeTemplate)
      await cp(this.sb.homeTemplate, home, { recursive: true, verbatimSymlinks: true, errorOnExist: false, force: true });

    const hidden = hiddenPaths([config.stateDir, ...ALWAYS_HIDDEN, this.opts.serviceHome, ...(this.opts.secretFiles ?? [])]);
    // An agent installed under a hidden path (kiro-cli in ~/.local/bin) still has to run: bring back its directory, read-only.
    const readPaths = [...this.sb.readPaths];
    // Only the file itself: its folder may be a whole HOME (an agent that needs more lists it in KIRO_AGENT_READ_PATHS).
    for (const p of [job.agentPath, safeRealpath(job.agentPath)]) {
      const covered = hidden.some((h) => isWithin(p ?? '', h.path)) || isWithin(p ?? '', '/tmp');
      if (p && covered && !readPaths.some((r) => isWithin(p, r))) readPaths.push(p);
    }
    const layout: SandboxLayout = {
      tree: job.tree,
      gitDirs: job.gitDirs,
      home,
      hidden,
      readPaths,
      tmpBytes: Math.min(this.sb.maxDiskBytes, 4 * 1024 * 1024 * 1024),
      network: this.sb.network,
    };
    // The job's own egress proxy: what it refuses is this job's, and its tunnels end with the job.
    const policy = this.sb.network;
    const bridge = this.opts.bridgePath;
    const egress =
      proxied(policy) && bridge
        ? await startJobEgress({
            dir: dirname(home),
            policy,
            forbidden: this.forbidden,
            lookup: this.opts.lookup,
            log: this.opts.egressLog,
            onBlocked: job.onBlocked,
          })
        : null;
    if (egress && bridge) layout.egress = { socket: egress.socketPath, bridge, node: process.execPath };
    // Never another run's group: hosts of a fleet on one machine (npm run cluster) may run one job id at once
    // (a host thought dead and the one that took its job over), and a group's end kills everything in it.
    const cgroup = await this.cgroups
      .create(`job-${job.id}-${randomBytes(4).toString('hex')}`, { memoryBytes: this.sb.memoryBytes, maxProcesses: this.sb.maxProcesses })
      .then(
        (made) => {
          if (made) this.cgroupFailure = null;
          return made;
        },
        (e: unknown) => {
          // Never silent: the job still runs, under rlimits, and the operator hears why.
          this.cgroupFailure = `the cgroup of job ${job.id} could not be made (${(e as Error).message}): it ran with RLIMIT_AS and RLIMIT_NPROC instead`;
          this.opts.onWarning?.(this.cgroupFailure);
          return null;
        },
      );
    const rlimits = [
      `--fsize=${this.sb.maxDiskBytes}`,
      '--core=0',
      ...(cgroup ? [] : [`--as=${this.sb.memoryBytes}`, `--nproc=${this.sb.maxProcesses}`]),
    ];
    const inner = ['prlimit', ...rlimits, '--', 'bwrap', ...bwrapArgs(layout), ...sandboxedArgv(layout, job.agentArgv)];
    const argv = cgroup ? [...joinCgroupArgv(cgroup), ...inner] : inner;
    const env = {
      ...job.env,
      HOME: SANDBOX_HOME,
      TMPDIR: '/tmp',
      // What a shell would set (and the cgroup-joining sh does set): the same on every host.
      PWD: job.tree,
      ...proxyEnv(this.sb.network),
    };
    const limit = this.sb;
    return {
      argv,
      env,
      async check(outputBytes) {
        if (outputBytes > limit.maxOutputBytes)
          return {
            code: 'OUTPUT_LIMIT',
            message: `the agent printed more than ${mib(limit.maxOutputBytes)} MiB (KIRO_AGENT_MAX_OUTPUT_MB)`,
          };
        const v = cgroup ? await cgroup.violation() : null;
        if (v === 'memory')
          return {
            code: 'MEMORY_LIMIT',
            message: `the agent used more than ${mib(limit.memoryBytes)} MiB of memory (KIRO_AGENT_MEMORY_MB)`,
          };
        if (v === 'processes')
          return {
            code: 'PROCESS_LIMIT',
            message: `the agent tried to run more than ${limit.maxProcesses} processes at once (KIRO_AGENT_MAX_PROCS)`,
          };
        const used = await diskUse([job.tree, home]);
        if (used !== null && used > limit.maxDiskBytes)
          return {
            code: 'DISK_LIMIT',
            message: `the working tree and HOME grew past ${mib(limit.maxDiskBytes)} MiB (KIRO_AGENT_MAX_DISK_MB)`,
          };
        return null;
      },
      blocked: () => egress?.blocked() ?? [],
      async release() {
        await cgroup?.destroy();
        // After the agent's processes: whatever tunnel they left open ends here.
        await egress?.close();
        await rm(dirname(home), { recursive: true, force: true }).catch(() => undefined);
      },
    };
  }
}

/** /health's words for a network policy: its mode and the first host it allows, and every host it names. */
export function describeNetwork(network: SandboxConfig['network']): Pick<SandboxStatus, 'network' | 'allowHosts'> {
  if (network.mode === 'none') return { network: 'none' };
  const hosts = network.hosts ?? [];
  if (network.mode === 'open') {
    return {
      network: `open: any public address${hosts.length ? ` + ${hosts.length} listed host${hosts.length === 1 ? '' : 's'}` : ''}`,
      allowHosts: hosts,
    };
  }
  const [first] = hosts;
  const list = first === undefined ? 'no host' : `${first}${hosts.length > 1 ? ` + ${hosts.length - 1} more` : ''}`;
  return { network: `allow: ${list}${network.default ? ' (default)' : ''}`, allowHosts: hosts };
}

const mib = (bytes: number) => Math.round(bytes / (1024 * 1024));
