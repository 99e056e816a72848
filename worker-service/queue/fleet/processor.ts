// This host's side of a fleet's queue: BullMQ's Worker takes jobs for this host's idle
// slots (concurrency = slots) and runs each through the host's job runner, once its
// branch's lock is held. It keeps watch over what runs here: a job whose BullMQ lock
// went unrenewed for a lock's lifetime (Redis out of reach, the host frozen) may be
// another host's by now, so it stops here, pushes nothing and writes nothing more; a
// cancel this host missed on pub/sub is found through its flag in Redis. What BullMQ and
// the record hand it is input, not truth (validate.ts): a job whose id, data or record
// fails its checks, or whose record no longer asks for what was queued, never runs.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import { isFinalState, type JobStatus } from '../../../shared/protocol.js';
import type { ErrorCode } from '../../../shared/errorCodes.js';
import type { FleetConfig } from '../../config.js';
import { scopeKeyOf, type Job } from '../../jobs/job.js';
import { jobStatusOf } from '../../jobs/status.js';
import { JobLog, logPath } from '../../jobs/log.js';
import { underStateDir } from '../../jobs/paths.js';
import type { AuditStore } from '../../identity/audit.js';
import { WorkerError } from '../../errors.js';
import type { HostDeps, HostSlots } from '../../host/hostSlots.js';
import { branchKeyOf, finishJob, MAX_ATTEMPTS } from '../../jobs/rules.js';
import type { BranchLocks } from './branchLock.js';
import { encodeEvent } from './bus.js';
import { keys, QUEUE_NAME } from './keys.js';
import { newJob, type JobRecords } from './records.js';
import { checkQueued, isFleetJobId, queuedMatchesRecord, type QueuedData } from './validate.js';
import type { WriteBehind } from './writeBehind.js';

/** What a BullMQ job carries (written once, at submit): enough to rebuild the job's record if it was never written. */
export type { QueuedData };

/** How long a job waits before it looks again at a branch another job holds. */
const BRANCH_BUSY_RETRY_MS = 500;
/** How often a host checks its running jobs' locks and cancel flags. */
const WATCH_MS = 1_000;

export interface ProcessorDeps {
  hostDeps: HostDeps;
  fleet: FleetConfig;
  /** This host's slots, which run the jobs. */
  hostSlots: HostSlots;
  records: JobRecords;
  locks: BranchLocks;
  writes: WriteBehind;
  /** Fails at once while Redis is away (the watch tries again next time). */
  cmd: Redis;
  /** Waits for Redis (the processor never fails a job at a blip). */
  writer: Redis;
  log: Logger;
  /** Where a job refused for what Redis held is recorded (the fleet's audit stream). */
  audit?: AuditStore;
  /** False once this host drains: a job it would take goes back for the others. */
  accepting(): boolean;
}

export class FleetProcessor {
  /** Jobs on this host's slots now (their freshest state is here, not yet in Redis). */
  private readonly local = new Map<string, Job>();
  /** When each job running here last had its BullMQ lock renewed. */
  private readonly renewedAt = new Map<string, number>();
  /** Jobs this host gave up because their lock lapsed: another host may run them now; this one stays silent. */
  private readonly abandoned = new Set<string>();
  private worker: Worker<QueuedData> | null = null;
  private connection: Redis | null = null;
  private watchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ProcessorDeps) {}

  /** Starts taking jobs. */
  start(): void {
    const { fleet, log } = this.deps;
    // BullMQ leaves a connection it was given open at close: this one is closed with the rest.
    this.connection = new Redis(fleet.redisUrl, { maxRetriesPerRequest: null, connectionName: `kiro-worker-${fleet.workerId}` }).on(
      'error',
      () => undefined,
    );
    this.worker = new Worker<QueuedData>(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: this.connection,
      concurrency: this.deps.hostSlots.slots.length,
      lockDuration: fleet.lockMs,
      stalledInterval: fleet.stalledCheckMs,
      // A job's re-runs are bounded by its record's attempt count (MAX_ATTEMPTS), as on a single host.
      maxStalledCount: 1000,
    });
    let lastError = '';
    this.worker.on('error', (e) => {
      // Once per kind of failure, not at every retry while Redis is away.
      if (e.message !== lastError) log.warn({ err: e.message }, 'BullMQ worker error');
      lastError = e.message;
    });
    this.worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) if (this.renewedAt.has(id)) this.renewedAt.set(id, now);
    });
    this.worker.on('failed', (bullJob, err) => void this.onFailed(bullJob, err));
    this.watchTimer = setInterval(() => void this.watchRunning(), WATCH_MS);
    this.watchTimer.unref();
  }

  /** The job as this host runs it now (fresher than its record in Redis), if it runs here. */
  runningHere(id: string): Job | undefined {
    return this.local.get(id);
  }

  /** The job's status, with the live tail of its output when it runs here. */
  statusOf(job: Job, position = 0): JobStatus {
    return jobStatusOf(job, this.deps.hostSlots.logOf(job.id), position);
  }

  /** Stores the record (after every log byte before it) and tells every host; durable saves wait for Redis a little. */
  async save(job: Job, durable: boolean): Promise<void> {
    if (this.abandoned.has(job.id)) return; // another host may have it now: its record is that host's to write
    this.deps.records.save(job, encodeEvent({ type: 'job', job: this.statusOf(job) }));
    if (durable) await this.deps.writes.flushed(2_000);
  }

  /** Takes no more jobs; the running ones go on. */
  async pause(): Promise<void> {
    await this.worker?.pause(true).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    await this.worker?.close();
    this.connection?.disconnect();
  }

  /**
   * Every second: a job running here whose BullMQ lock has not been renewed for a lock's
   * lifetime (Redis out of reach, or this host stalled) may already be another host's:
   * its agent stops, nothing is pushed, and this host writes nothing more for it. A cancel
   * asked for while this host missed the broadcast (its subscription was reconnecting) is
   * found here too.
   */
  private async watchRunning(): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.renewedAt) {
      if (now - at <= this.deps.fleet.lockMs || this.abandoned.has(id)) continue;
      this.abandoned.add(id);
      this.deps.log.error(
        { jobId: id, sinceRenewalMs: now - at },
        'lost the lock of a running job: stopping it here (another host may run it)',
      );
      void this.deps.hostSlots.cancel(id);
    }
    const ids = [...this.local.keys()].filter((id) => !this.abandoned.has(id));
    if (ids.length === 0) return;
    try {
      const flags = await this.deps.cmd.mget(ids.map((id) => keys.cancel(id)));
      ids.forEach((id, i) => {
        if (flags[i] !== null && !this.deps.hostSlots.cancelled(id)) void this.deps.hostSlots.cancel(id);
      });
    } catch {
      /* Redis away: next time */
    }
  }

  /** BullMQ gave a job up (its processor failed on every attempt): its record says so, rather than queued forever. */
  private async onFailed(bullJob: BullJob<QueuedData> | undefined, err: Error): Promise<void> {
    this.deps.log.error({ jobId: bullJob?.id?.slice(0, 100), err: err.message, attempts: bullJob?.attemptsMade }, 'BullMQ job failed');
    if (!isFleetJobId(bullJob?.id) || !bullJob || bullJob.attemptsMade < (bullJob.opts.attempts ?? 1)) return;
    const job = await this.deps.records.get(bullJob.id, true).catch(() => undefined);
    if (!job || isFinalState(job.state)) return;
    finishJob(job, 'failed', { code: 'INTERNAL', message: "the worker could not run this job; see the worker's log" });
    await this.save(job, true);
  }

  /** Logged as an error and audited: a job refused because of what Redis held. */
  private reportInvalid(id: unknown, problem: string): void {
    const shown = typeof id === 'string' ? id.slice(0, 100) : typeof id;
    this.deps.log.error({ jobId: shown, problem }, 'INVALID_RECORD: a queued job failed its checks; it does not run');
    void this.deps.audit
      ?.append({
        time: new Date().toISOString(),
        caller: 'redis',
        action: 'submit',
        outcome: 'refused',
        code: 'INVALID_RECORD',
        ...(isFleetJobId(id) ? { jobId: id } : {}),
        requestId: `fleet:${this.deps.fleet.workerId}`,
        ip: '',
      })
      .catch(() => undefined);
  }

  /**
   * The job BullMQ handed over, once its id, data and record pass their checks; else
   * null, after the job is failed with INVALID_RECORD where a truthful record can say so
   * (its checked data, or its checked record), and nothing else is done for it.
   */
  private async admit(bullJob: BullJob<QueuedData>): Promise<Job | null> {
    const queued = checkQueued(bullJob.id, bullJob.data, this.deps.hostDeps.config.repoAllowlist);
    if (!queued.ok) {
      this.reportInvalid(bullJob.id, queued.problem);
      const held = isFleetJobId(bullJob.id) ? await this.deps.records.get(bullJob.id, true) : undefined;
      if (held && !isFinalState(held.state)) {
        finishJob(held, 'failed', {
          code: 'INVALID_RECORD',
          message: `the queued job failed the worker's checks (${queued.problem}); it was not run`,
        });
        await this.save(held, true);
      }
      // Failed in BullMQ at once, never tried again.
      throw new UnrecoverableError(`INVALID_RECORD: ${queued.problem}`);
    }
    const { id, data } = queued.value;
    const read = await this.deps.records.read(id, true);
    if (read.kind === 'missing') return newJob(id, scopeKeyOf(data.request), data.request, data.createdAt);
    if (read.kind === 'ok' && queuedMatchesRecord(read.job, data)) return read.job;
    const problem = read.kind === 'invalid' ? read.problem : 'the record asks for another request than the one queued';
    this.reportInvalid(id, problem);
    // The record is rebuilt from the queued data (checked, and the one the id was made for), over whatever the key holds.
    const job = newJob(id, scopeKeyOf(data.request), data.request, data.createdAt);
    finishJob(job, 'failed', {
      code: 'INVALID_RECORD',
      message: `the job's record in Redis failed the worker's checks (${problem}); it was not run`,
    });
    if (!this.abandoned.has(id)) this.deps.records.save(job, encodeEvent({ type: 'job', job: this.statusOf(job) }), true);
    await this.deps.writes.flushed(2_000);
    return null;
  }

  /** BullMQ's processor: one job, on one of this host's slots, when its branch is free. */
  private async process(bullJob: BullJob<QueuedData>, token: string | undefined): Promise<string> {
    const job = await this.admit(bullJob);
    if (!job) return 'failed';
    const { id } = job;
    if (isFinalState(job.state)) return job.state; // ended, but its completion never reached BullMQ (Redis was away)
    const endHere = async (state: 'cancelled' | 'failed', code: ErrorCode, message: string) => {
      finishJob(job, state, { code, message });
      await this.save(job, true);
      const { owner, repo } = job.request;
      this.deps.hostSlots.afterJob(job, () => this.deps.hostDeps.credentials.forRepository(owner, repo));
      return job.state;
    };
    if ((await this.deps.writer.exists(keys.cancel(id))) === 1) return endHere('cancelled', 'CANCELLED', 'cancelled before it started');
    if (job.state !== 'queued' && job.attempts >= MAX_ATTEMPTS) {
      return endHere('failed', 'INTERRUPTED', `the worker running this job stopped ${job.attempts} times; not trying again`);
    }
    if (job.state !== 'queued')
      this.deps.log.warn({ jobId: id, state: job.state, attempts: job.attempts }, 'job was interrupted on another host; running it again');
    const lock = await this.deps.locks.acquire(branchKeyOf(job), id, () =>
      this.deps.log.error({ jobId: id }, 'lost the branch lock of a running job (Redis unreachable too long)'),
    );
    const slot = lock ? this.deps.hostSlots.idleSlot() : undefined;
    if (!lock || !slot || !this.deps.accepting()) {
      await lock?.release();
      // Another job of this branch runs (or this host has no free slot): look again shortly.
      await bullJob.moveToDelayed(Date.now() + BRANCH_BUSY_RETRY_MS, token);
      throw new DelayedError();
    }
    job.host = this.deps.fleet.workerId;
    this.local.set(id, job);
    this.renewedAt.set(id, Date.now());
    try {
      const result = await this.deps.hostSlots.start(slot, job, {
        save: (j, durable) => this.save(j, durable),
        abandoned: (j) => this.abandoned.has(j.id),
        // The one check that cannot race a timer: BullMQ's lock, extended now, still carries this host's token.
        beforePush: async (j) => {
          const held = this.abandoned.has(j.id) ? 0 : await bullJob.extendLock(token ?? '', this.deps.fleet.lockMs).catch(() => 0);
          if (held) return;
          this.abandoned.add(j.id);
          this.deps.log.error({ jobId: j.id }, "not pushing: the job's lock is no longer this host's (another host may run it)");
          throw new WorkerError('LOCK_LOST', 'the job was taken over by another worker host', 409);
        },
        openLog: (j) => {
          const { stateDir } = this.deps.hostDeps.config;
          const jobLog = new JobLog(underStateDir(stateDir, logPath(stateDir, j.id)), this.deps.hostDeps.config.sandbox.maxOutputBytes);
          jobLog.on('data', (bytes) => {
            if (!this.abandoned.has(j.id)) this.deps.writes.append(keys.log(j.id), bytes);
          });
          return jobLog;
        },
      });
      if (this.abandoned.has(id)) return 'abandoned'; // BullMQ no longer counts it as ours either
      if (result.requeue) {
        // This host is shutting down: back to the queue for another host, without counting as stalled.
        await this.deps.writes.flushed(2_000);
        await bullJob.moveToWait(token);
        throw new WaitingError();
      }
      return job.state;
    } finally {
      this.local.delete(id);
      this.renewedAt.delete(id);
      this.abandoned.delete(id);
      // Not awaited: with Redis away it would hold the slot's processor; the lock lapses by itself then.
      void lock.release();
    }
  }
}
