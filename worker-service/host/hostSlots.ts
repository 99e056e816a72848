// host/ owns this host's slots and what runs on them. This file: the slots themselves —
// a job handed to an idle slot runs (jobRunner.ts, the agent in agentRun.ts), its PR gets
// its housekeeping (prHousekeeping.ts), its tree is settled; a crashed agent's slot rests;
// the health monitor (monitor.ts) watches them; drain and close stop the agents. Where jobs come from is the queue's business (the
// embedded one in queue/embedded/, the fleet's in queue/fleet/), not this file's.
import type { GitHubFacts } from '../identity/githubFacts.js';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { SlotHealth } from '../../shared/protocol.js';
import { findAgent, type AgentLookup } from '../agent/command.js';
import type { WorkerConfig } from '../config.js';
import type { Workspaces } from '../git/workspace.js';
import type { Commenter } from '../github/comments.js';
import type { CredentialSource, JobCredential } from '../github/credentials.js';
import type { PrFinisher } from '../github/finish.js';
import type { Job } from '../jobs/job.js';
import { JobLog, logPath } from '../jobs/log.js';
import type { SandboxRuntime } from '../sandbox/sandbox.js';
import { runJob, type RunResult } from './jobRunner.js';
import { HealthMonitor } from './monitor.js';
import { PrHousekeeping } from './prHousekeeping.js';
import { Slot } from './slot.js';

export interface HostDeps {
  config: WorkerConfig;
  workspaces: Workspaces;
  /** Each job's GitHub credential (fetch, push, PR comment), released when the job is over. */
  credentials: CredentialSource;
  log: Logger;
  commenter?: Commenter;
  /** After a push: a draft PR made ready for review, the delegating user asked to review. */
  finisher?: PrFinisher;
  version: string;
  /** The environment the agent's allow-list draws from (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Confines every agent; absent only in unit tests of the pool's bookkeeping. */
  sandbox?: SandboxRuntime;
  /** What GitHub says of a job's pull request, asked again right before its push. */
  facts?: GitHubFacts;
}

export interface HostEvents {
  slot: [Slot];
  'agent-started': [Job, number];
  'agent-exited': [Job, number];
  /** A run on a slot is over (its tree settled): where its time went, ms by phase (pool/phases.ts). */
  'run-ended': [Job, Readonly<Record<string, number>>];
}

/** What the queue does for a job run on this host. */
export interface RunHooks {
  /** Stores the job (durably when asked) and announces it. */
  save: (job: Job, durable: boolean) => Promise<void>;
  /** The job's log for this attempt (a fleet also copies it where every host can read it). */
  openLog?(job: Job): JobLog;
  /** A fleet: this host gave the job up (its lock lapsed; another host may run it), so its PR hears nothing from here. */
  abandoned?(job: Job): boolean;
  /** See RunContext.beforePush. */
  beforePush?: (job: Job) => Promise<void>;
}

export class HostSlots extends EventEmitter<HostEvents> {
  readonly slots: Slot[];
  private readonly logs = new Map<string, JobLog>();
  private readonly cancelRequested = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** Each recent job's time by phase (for the benchmark's breakdown). */
  readonly phaseTimes = new Map<string, Record<string, number>>();
  private readonly durations: number[] = [];
  private rr = 0;
  private readonly housekeeping: PrHousekeeping;
  private readonly monitor: HealthMonitor;
  agent: AgentLookup;

  constructor(readonly deps: HostDeps) {
    super();
    this.slots = Array.from({ length: deps.config.slots }, (_, i) => new Slot(i));
    this.agent = findAgent(deps.config.agentCommand[0] ?? '');
    this.housekeeping = new PrHousekeeping(deps);
    this.monitor = new HealthMonitor({ ...deps, slots: this.slots, logOn: (slot) => (slot.jobId ? this.logs.get(slot.jobId) : undefined) });
  }

  async init(): Promise<void> {
    await mkdir(join(this.deps.config.stateDir, 'logs'), { recursive: true });
    this.deps.log.info(
      { agent: this.agent.message, found: this.agent.found, slots: this.slots.length },
      this.agent.found ? 'agent ready' : 'AGENT MISSING: jobs will fail until it is installed',
    );
    this.monitor.start();
  }

  /** The next idle slot, round-robin. */
  idleSlot(): Slot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.rr + i) % this.slots.length];
      if (slot?.state === 'idle') {
        this.rr = (slot.id + 1) % this.slots.length;
        return slot;
      }
    }
    return undefined;
  }

  get busy(): number {
    return this.slots.filter((s) => s.state === 'busy').length;
  }

  slotHealth(host?: string): SlotHealth[] {
    return this.slots.map((s) => ({ ...s.health(), ...(host ? { host } : {}) }));
  }

  logOf(id: string): JobLog | undefined {
    return this.logs.get(id);
  }

  runs(id: string): boolean {
    return this.slots.some((s) => s.jobId === id);
  }

  cancelled(id: string): boolean {
    return this.cancelRequested.has(id);
  }

  /** Seconds a client should wait before trying again, from how long jobs take here and what waits. */
  retryAfterSeconds(queued: number): number {
    const avgMs = this.durations.length ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : 30_000;
    return Math.min(600, Math.max(5, Math.ceil(((queued / this.slots.length) * avgMs) / 1000)));
  }

  /**
   * Runs `job` on `slot` (which must be idle). Resolves once the job has ended and its
   * slot is free again (or resting after a crash); `after` runs when the job ended.
   */
  start(slot: Slot, job: Job, hooks: RunHooks): Promise<RunResult> {
    slot.set('busy', job.id);
    this.emit('slot', slot);
    const p = this.run(slot, job, hooks);
    const tracked = p.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
    return p;
  }

  /**
   * Asks a job running here to stop: the agent gets SIGTERM (SIGKILL after the grace),
   * a job still preparing stops before its agent starts, a push under way finishes.
   */
  async cancel(id: string): Promise<boolean> {
    // Noted even when the job is not on a slot yet: one about to start here then stops before its agent runs.
    this.cancelRequested.add(id);
    const slot = this.slots.find((s) => s.jobId === id);
    if (slot?.agent) await slot.agent.stop('cancel', this.deps.config.killGraceMs);
    return slot !== undefined;
  }

  /** Drops a cancel noted for a job that ended elsewhere. */
  forget(id: string): void {
    if (!this.runs(id)) this.cancelRequested.delete(id);
  }

  private async run(slot: Slot, job: Job, hooks: RunHooks): Promise<RunResult> {
    const { config, log } = this.deps;
    const result = await runJob(
      {
        ...this.deps,
        findAgent: () => (this.agent = findAgent(config.agentCommand[0] ?? '', this.deps.env?.PATH ?? process.env.PATH)),
        save: hooks.save,
        beforePush: hooks.beforePush,
        cancelled: (id) => this.cancelRequested.has(id),
        openLog: (j) => {
          const jobLog = hooks.openLog?.(j) ?? new JobLog(logPath(config.stateDir, j.id), config.sandbox.maxOutputBytes);
          this.logs.set(j.id, jobLog);
          return jobLog;
        },
        agentStarted: (j) => this.emit('agent-started', j, Date.now()),
        agentExited: (j) => this.emit('agent-exited', j, Date.now()),
      },
      slot,
      job,
    ).finally(() => {
      this.logs.delete(job.id);
      this.cancelRequested.delete(job.id);
    });
    this.phaseTimes.set(job.id, result.phases.ms);
    if (this.phaseTimes.size > 1000) this.phaseTimes.delete(this.phaseTimes.keys().next().value ?? '');
    if (!result.requeue) this.durations.push(result.ms);
    if (this.durations.length > 50) this.durations.shift();
    log.info({ jobId: job.id, slot: slot.id, state: job.state, code: job.error?.code, ms: result.ms }, 'job ended');
    // The job's credential outlives the job only until its PR's housekeeping is done (an App token is then revoked).
    const held = result.credential;
    if (hooks.abandoned?.(job)) void held?.release().catch(() => undefined);
    else this.afterJob(job, async () => held);
    if (result.crashed) this.restartSlot(slot);
    else {
      // The job is over (its state saved and announced); the tree is made ready for the next one.
      const { owner, repo } = job.request;
      await this.deps.workspaces
        .settle(slot.id, owner, repo)
        .catch((e: unknown) =>
          log.warn({ slot: slot.id, err: String(e) }, "could not clean the slot's checkout; it will be reset at the next job"),
        );
      result.phases.lap('settle');
      slot.set('idle');
      this.emit('slot', slot);
    }
    this.emit('run-ended', job, result.phases.ms);
    return result;
  }

  /** See PrHousekeeping.afterJob: the job's PR hears how it ended; its credential is released after. */
  afterJob(job: Job, credential: () => Promise<JobCredential | undefined>): void {
    this.housekeeping.afterJob(job, credential);
  }

  /** A slot whose agent crashed rests, loses its warm checkouts and comes back idle. */
  private restartSlot(slot: Slot): void {
    slot.set('restarting');
    this.emit('slot', slot);
    this.deps.log.warn({ slot: slot.id, inMs: this.deps.config.slotRestartMs }, 'slot restarting after an agent crash');
    slot.warm.clear();
    void this.deps.workspaces.discardSlot(slot.id).catch(() => undefined);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      slot.set('idle');
      this.emit('slot', slot);
    }, this.deps.config.slotRestartMs);
  }

  /** Lets running jobs finish within `graceMs`; after it, their agents stop and the jobs go back to the queue. */
  async drain(graceMs: number): Promise<void> {
    const all = Promise.allSettled([...this.running]);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) {
      for (const slot of this.slots) if (slot.agent) void slot.agent.stop('shutdown', this.deps.config.killGraceMs);
      await Promise.allSettled([...this.running]);
    }
  }

  /** Stops every agent at once (their jobs go back to the queue) and waits for the PR housekeeping under way. */
  async close(): Promise<void> {
    this.monitor.stop();
    for (const slot of this.slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
    for (const slot of this.slots) if (slot.agent) void slot.agent.stop('shutdown', 0);
    await Promise.allSettled([...this.running]);
    await this.housekeeping.settled();
  }
}
