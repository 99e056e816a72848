// queue/embedded/ owns the embedded queue: one host's bounded durable queue (a file per job, fsynced before
// a job is acknowledged), dispatch to idle slots, one job per branch at a time, and
// crash recovery (jobs interrupted by a crash run again once). Jobs run on this host's
// slots (host/); a fleet of hosts shares a queue on Redis instead (queue/fleet/).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isFinalState, PROTOCOL_VERSION, type GenerateCodeRequest, type PoolHealth } from '../../../shared/protocol.js';
import type { AgentLookup } from '../../agent/command.js';
import type { WorkerConfig } from '../../config.js';
import type { Workspaces } from '../../git/workspace.js';
import { scopeKeyOf, type Job } from '../../jobs/job.js';
import type { JobLog } from '../../jobs/log.js';
import type { JobStore } from './store.js';
import { QueueFullError, WorkerError } from '../../errors.js';
import { HostSlots, type HostDeps } from '../../host/hostSlots.js';
import { branchKeyOf, CANCEL_PUSH_WAIT_MS, finishJob, idempotencyConflict, MAX_ATTEMPTS, sameRequest } from '../../jobs/rules.js';
import type { Slot } from '../../host/slot.js';

export interface EmbeddedQueueDeps extends HostDeps {
  store: JobStore;
}

export interface EmbeddedQueueEvents {
  job: [Job];
  'agent-started': [Job, number];
  'agent-exited': [Job, number];
  slot: [Slot];
}

export class EmbeddedQueue extends EventEmitter<EmbeddedQueueEvents> {
  readonly jobs = new Map<string, Job>();
  private readonly byScope = new Map<string, string>();
  /** Saves under way, so that a concurrent duplicate waits for the first one to be durable. */
  private readonly pendingSaves = new Map<string, Promise<void>>();
  private readonly queue: string[] = [];
  readonly host: HostSlots;
  /** Branches (owner/repo#branch) with a job on a slot now. */
  private readonly busyBranches = new Set<string>();
  private readonly startedAt = Date.now();
  accepting = true;

  constructor(private readonly deps: EmbeddedQueueDeps) {
    super();
    this.host = new HostSlots(deps);
    this.host.on('slot', (slot) => {
      this.emit('slot', slot);
      if (slot.state === 'idle') this.dispatch();
    });
    this.host.on('agent-started', (job, at) => this.emit('agent-started', job, at));
    this.host.on('agent-exited', (job, at) => this.emit('agent-exited', job, at));
  }

  get slots(): Slot[] {
    return this.host.slots;
  }

  get agent(): AgentLookup {
    return this.host.agent;
  }

  get phaseTimes(): Map<string, Record<string, number>> {
    return this.host.phaseTimes;
  }

  get workspaces(): Workspaces {
    return this.deps.workspaces;
  }

  private get config(): WorkerConfig {
    return this.deps.config;
  }

  private get log(): Logger {
    return this.deps.log;
  }

  /** Loads jobs from disk: queued ones wait again, interrupted ones run again once. */
  async init(): Promise<void> {
    await this.deps.store.init();
    const jobs = await this.deps.store.loadAll((file, e) => this.deps.log.error({ file, err: e.message }, 'unreadable job record skipped'));
    for (const job of jobs) {
      this.jobs.set(job.id, job);
      this.byScope.set(job.scopeKey, job.id);
      if (isFinalState(job.state)) continue;
      if (job.agentPid) {
        // The agent ran in its own session and outlived the service: stop its group before the job runs again.
        try {
          process.kill(-job.agentPid, 'SIGKILL');
          this.deps.log.warn({ jobId: job.id, pid: job.agentPid }, 'stopped an agent orphaned by a service crash');
        } catch {
          /* already gone */
        }
        job.agentPid = null;
      }
      if (job.state !== 'queued') {
        if (job.attempts >= MAX_ATTEMPTS) {
          finishJob(job, 'failed', {
            code: 'INTERRUPTED',
            message: `the worker stopped during this job ${job.attempts} times; not trying again`,
          });
          await this.deps.store.save(job);
          continue;
        }
        this.log.warn({ jobId: job.id, state: job.state, attempts: job.attempts }, 'job was interrupted by a restart; running it again');
        job.state = 'queued';
        job.slotId = null;
        await this.deps.store.save(job);
      }
      this.queue.push(job.id);
    }
    await this.host.init();
    this.log.info({ queued: this.queue.length }, 'embedded queue loaded');
    this.dispatch();
  }

  position(job: Job): number {
    const i = this.queue.indexOf(job.id);
    return i < 0 ? 0 : i;
  }

  /** Accepts a job (or returns the one already made for this idempotency key). */
  /** A finished job, forgotten (retention): its record goes from memory and disk. */
  async forget(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || !isFinalState(job.state)) return;
    this.jobs.delete(id);
    if (this.byScope.get(job.scopeKey) === id) this.byScope.delete(job.scopeKey);
    await this.deps.store.remove(id);
  }

  async submit(request: GenerateCodeRequest): Promise<{ job: Job; created: boolean }> {
    const scopeKey = scopeKeyOf(request);
    const existingId = this.byScope.get(scopeKey);
    const existing = existingId ? this.jobs.get(existingId) : undefined;
    if (existing) {
      await this.pendingSaves.get(existing.id);
      if (!sameRequest(existing.request, request)) throw idempotencyConflict(request);
      return { job: existing, created: false };
    }
    if (!this.accepting) throw new QueueFullError(30, 'the worker is shutting down; try again shortly');
    const idle = this.slots.some((s) => s.state === 'idle');
    if (!idle && this.queue.length >= this.config.queueLimit) throw new QueueFullError(this.retryAfterSeconds());
    const job: Job = {
      id: randomUUID(),
      scopeKey,
      request,
      state: 'queued',
      attempts: 0,
      slotId: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      signal: null,
      commitSha: null,
      error: null,
      outputTail: [],
    };
    // Reserved at once (a concurrent duplicate finds it), durable before acknowledged.
    this.jobs.set(job.id, job);
    this.byScope.set(scopeKey, job.id);
    const saving = this.deps.store.save(job);
    this.pendingSaves.set(
      job.id,
      saving.catch(() => undefined),
    );
    try {
      await saving;
    } catch (e) {
      this.jobs.delete(job.id);
      this.byScope.delete(scopeKey);
      throw e;
    } finally {
      this.pendingSaves.delete(job.id);
    }
    this.queue.push(job.id);
    this.emit('job', job);
    this.dispatch();
    return { job, created: true };
  }

  /** Seconds a client should wait before trying again, from how long jobs take here. */
  retryAfterSeconds(): number {
    return this.host.retryAfterSeconds(this.queue.length);
  }

  async cancel(id: string): Promise<Job> {
    const job = this.jobs.get(id);
    if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    if (isFinalState(job.state)) return job;
    const qi = this.queue.indexOf(id);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      finishJob(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' });
      await this.deps.store.save(job);
      this.emit('job', job);
      const { owner, repo } = job.request;
      if (this.deps.commenter) this.host.afterJob(job, () => this.deps.credentials.forRepository(owner, repo));
      return job;
    }
    // Honoured up to the moment a push starts (see beforePush in runJob); a push under way is
    // not interrupted, since git cannot tell whether a killed push landed. So a job being
    // pushed ends `succeeded` with its commit, or `cancelled` with nothing pushed: the
    // answer waits (a while) for which.
    await this.host.cancel(id);
    // The answer says how the job ended (cancelled, or pushed after all), not the moment in between.
    await this.ended(job, CANCEL_PUSH_WAIT_MS);
    return job;
  }

  /** Resolves once the job is in a final state, or after `ms`. */
  private ended(job: Job, ms: number): Promise<void> {
    if (isFinalState(job.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const onJob = (j: Job) => {
        if (j.id === job.id && isFinalState(j.state)) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.off('job', onJob);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.on('job', onJob);
    });
  }

  logOf(id: string): JobLog | undefined {
    return this.host.logOf(id);
  }

  health(): PoolHealth {
    return {
      slots: this.host.slotHealth(),
      queued: this.queue.length,
      running: this.host.busy,
      capacity: this.slots.length,
      queueLimit: this.config.queueLimit,
      accepting: this.accepting,
      agent: { command: this.agent.command, found: this.agent.found, message: this.agent.message },
      ...(this.deps.sandbox ? { sandbox: this.deps.sandbox.status() } : {}),
      queue: 'embedded',
      version: this.deps.version,
      protocol: PROTOCOL_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  /**
   * Gives queued jobs to idle slots, round-robin, oldest first — except that two
   * jobs for one branch never run at once: a follow-up waits for the round before
   * it, so that it starts from that round's result.
   */
  dispatch(): void {
    if (!this.accepting) return;
    for (;;) {
      if (!this.slots.some((s) => s.state === 'idle')) return;
      const at = this.queue.findIndex((id) => {
        const job = this.jobs.get(id);
        return !job || !this.busyBranches.has(branchKeyOf(job));
      });
      if (at < 0) return;
      const [id] = this.queue.splice(at, 1);
      const job = id ? this.jobs.get(id) : undefined;
      if (!job) continue;
      const slot = this.host.idleSlot();
      if (!slot) return;
      const branch = branchKeyOf(job);
      this.busyBranches.add(branch);
      void this.host
        .start(slot, job, { save: (j, durable) => this.save(j, durable) })
        .catch((e: unknown) => this.deps.log.error({ jobId: job.id, err: String(e) }, 'job runner failed unexpectedly'))
        .finally(() => {
          this.busyBranches.delete(branch);
          this.dispatch();
        });
    }
  }

  private async save(job: Job, durable: boolean): Promise<void> {
    await this.deps.store.save(job, durable);
    this.emit('job', job);
  }

  /** SIGTERM: stop accepting, let running jobs finish within the grace period, keep the rest queued. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    await this.host.drain(graceMs);
  }

  async close(): Promise<void> {
    this.accepting = false;
    await this.host.close();
  }
}
