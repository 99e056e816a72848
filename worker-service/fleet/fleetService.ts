// This host's part of a fleet sharing one queue on Redis (KIRO_REDIS_URL), behind the
// same JobService the routes use for a single host. BullMQ holds the queue: any host
// enqueues, each host's Worker takes jobs for its idle slots (concurrency = slots),
// and a job whose host stops renewing its lock (kill -9, a lost machine) is taken up
// by another host after the stalled check. Around BullMQ, in Redis:
// - each job's record (the job's id derives from its idempotency scope, and the record
//   is created with SET NX, so concurrent submits on several hosts make one job);
// - a per-branch lock (branchLock.ts), since two jobs of one branch never run at once;
// - the agent's log, appended as it comes, which every host reads from;
// - heartbeats (hosts.ts) for /health, and pub/sub for events and cancels.
// Records and log bytes go through a write-behind queue (writeBehind.ts): a running job
// never waits on Redis, and what it wrote reaches Redis in order once it is back.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { DelayedError, Queue, WaitingError, Worker, type Job as BullJob } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { isFinalState, PROTOCOL_VERSION, type GenerateCodeRequest, type JobStatus, type PoolHealth, type PoolSlots } from '../../shared/protocol.js';
import type { FleetConfig } from '../config.js';
import { scopeKeyOf, toStatus, type Job } from '../jobs/job.js';
import { JobLog, logPath } from '../jobs/log.js';
import { QueueFullError, WorkerError } from '../pool/errors.js';
import { SlotHost, type HostDeps } from '../pool/host.js';
import { finishJob } from '../pool/jobRunner.js';
import { branchKeyOf, CANCEL_PUSH_WAIT_MS, MAX_ATTEMPTS } from '../pool/pool.js';
import type { JobService, JobServiceEvents, LogSink } from '../pool/service.js';
import { BranchLocks } from './branchLock.js';
import { HostRegistry, type HostBeat } from './hosts.js';
import { channels, jobIdFor, keys, LOG_TTL_S, QUEUE_NAME, RECORD_TTL_S } from './keys.js';
import { WriteBehind } from './writeBehind.js';

/** What a BullMQ job carries: enough to rebuild the job's record if it was never written. */
interface QueuedData {
  request: GenerateCodeRequest;
  createdAt: string;
}

/** How long a job waits before it looks again at a branch another job holds. */
const BRANCH_BUSY_RETRY_MS = 500;
/** A log reader looks for new bytes this often while its job runs, and at its state at most this often. */
const LOG_POLL_MS = 100;
const LOG_STATE_POLL_MS = 1_000;
/** How often a host checks its running jobs' locks and cancel flags. */
const WATCH_MS = 1_000;
/** What a client is told to wait when Redis is out of reach. */
const UNAVAILABLE_RETRY_S = 5;
const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']);

// Stores a record unless Redis holds one from a later attempt (a run that lost its lock
// must not overwrite the run that took the job over), lists it as open or not, and tells
// every host. KEYS: record, open set, cancel flag; ARGV: record, attempts, ttl, final,
// created ms, id, channel, event.
const SAVE_RECORD = `local cur = redis.call('get', KEYS[1])
if cur then local ok, c = pcall(cjson.decode, cur) if ok and type(c) == 'table' and tonumber(c.attempts or 0) > tonumber(ARGV[2]) then return 0 end end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[3])
if ARGV[4] == '1' then redis.call('zrem', KEYS[2], ARGV[6]) redis.call('del', KEYS[3]) else redis.call('zadd', KEYS[2], ARGV[5], ARGV[6]) end
redis.call('publish', ARGV[7], ARGV[8])
return 1`;

// Creates the record only if the job is new, and lists it as open, in one step.
const CREATE_RECORD = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then redis.call('zadd', KEYS[2], ARGV[2], ARGV[4]) return 1 end return 0`;

/** Redis failed a request: the client hears 503 with Retry-After (never where Redis lives); the log gets the detail. */
function unavailable(e: unknown, log?: Logger): never {
  if (WorkerError.is(e)) throw e;
  log?.warn({ err: (e as Error).message }, 'request failed: Redis unreachable');
  throw new QueueFullError(UNAVAILABLE_RETRY_S, 'the job queue (Redis) is out of reach; try again shortly', 'QUEUE_UNAVAILABLE');
}

export class FleetJobService extends EventEmitter<JobServiceEvents> implements JobService {
  readonly kind = 'redis';
  readonly host: SlotHost;
  /** Requests: fails at once while Redis is away (no offline queue), so a client gets 503, never a hang. */
  private readonly cmd: Redis;
  /** Write-behind: waits for Redis to come back. */
  private readonly writer: Redis;
  private readonly sub: Redis;
  private readonly queue: Queue<QueuedData>;
  private worker: Worker<QueuedData> | null = null;
  private workerConn: Redis | null = null;
  /** The branch locks' own connection: their renewals never wait behind a backlog of log bytes. */
  private readonly lockConn: Redis;
  /** When each job running here last had its BullMQ lock renewed. */
  private readonly renewedAt = new Map<string, number>();
  /** Jobs this host gave up because their lock lapsed: another host may run them now; this one stays silent. */
  private readonly abandoned = new Set<string>();
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly writes: WriteBehind;
  private readonly locks: BranchLocks;
  private readonly registry: HostRegistry;
  /** Jobs on this host's slots now (their freshest state is here, not yet in Redis). */
  private readonly local = new Map<string, Job>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private slotsTimer: NodeJS.Timeout | null = null;
  private liveHostIds = '';
  private readonly startedAt = Date.now();
  private accepting = true;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly deps: HostDeps, private readonly fleet: FleetConfig) {
    super();
    this.log = deps.log.child({ host: fleet.workerId });
    this.host = new SlotHost({ ...deps, log: this.log });
    const connect = (name: string, opts: RedisOptions) => {
      const r = new Redis(fleet.redisUrl, { connectionName: `kiro-${name}-${fleet.workerId}`, ...opts });
      let down = false;
      // One line when the connection drops and one when it is back, not one per retry.
      r.on('error', (e: Error) => {
        if (!down) this.log.warn({ conn: name, err: e.message }, 'Redis unreachable; retrying');
        down = true;
      });
      r.on('ready', () => {
        if (down) this.log.info({ conn: name }, 'Redis reachable again');
        down = false;
      });
      return r;
    };
    this.cmd = connect('cmd', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.writer = connect('writer', { maxRetriesPerRequest: null });
    this.sub = connect('sub', { maxRetriesPerRequest: null });
    this.queue = new Queue<QueuedData>(QUEUE_NAME, { connection: this.cmd });
    this.queue.on('error', () => undefined); // reported by the connection's own handler
    this.lockConn = connect('locks', { maxRetriesPerRequest: null });
    this.writes = new WriteBehind(this.writer, (e, op) => {
      if (/\bOOM\b|EXECABORT/.test((e as Error).message)) this.log.error({ op }, 'Redis is full (maxmemory with noeviction): log bytes are dropped from the fleet\'s copy; give Redis more memory');
    }, LOG_TTL_S);
    // The processor's locks wait for Redis rather than fail the job at a blip.
    this.locks = new BranchLocks(this.lockConn, fleet.branchLockMs, fleet.workerId);
    this.registry = new HostRegistry(this.cmd, fleet.heartbeatMs);
    this.host.on('slot', () => {
      void this.beat().then(() => this.cmd.publish(channels.events, JSON.stringify({ type: 'slots' }))).catch(() => undefined);
    });
  }

  async init(): Promise<void> {
    await this.host.init();
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // Not awaited: a host starts (and answers 503) while Redis is away, and subscribes once it is back.
    void this.sub.subscribe(channels.events, channels.cancel).catch(() => undefined);
    // BullMQ leaves a connection it was given open at close: this one is closed with the rest.
    this.workerConn = new Redis(this.fleet.redisUrl, { maxRetriesPerRequest: null, connectionName: `kiro-worker-${this.fleet.workerId}` }).on('error', () => undefined);
    this.worker = new Worker<QueuedData>(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: this.workerConn,
      concurrency: this.host.slots.length,
      lockDuration: this.fleet.lockMs,
      stalledInterval: this.fleet.stalledCheckMs,
      // A job's re-runs are bounded by its record's attempt count (MAX_ATTEMPTS), as on a single host.
      maxStalledCount: 1000,
    });
    let lastError = '';
    this.worker.on('error', (e) => {
      // Once per kind of failure, not at every retry while Redis is away.
      if (e.message !== lastError) this.log.warn({ err: e.message }, 'BullMQ worker error');
      lastError = e.message;
    });
    this.worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) if (this.renewedAt.has(id)) this.renewedAt.set(id, now);
    });
    this.worker.on('failed', (bullJob, err) => void this.onFailed(bullJob, err));
    this.watchTimer = setInterval(() => void this.watchRunning(), WATCH_MS);
    this.watchTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.tick(), this.fleet.heartbeatMs);
    this.heartbeatTimer.unref();
    void this.beat().catch(() => undefined);
    this.log.info({ slots: this.host.slots.length, lockMs: this.fleet.lockMs, stalledCheckMs: this.fleet.stalledCheckMs }, 'joined the fleet queue on Redis');
  }

  private beatOf(): HostBeat {
    return {
      id: this.fleet.workerId,
      slots: this.host.slots.length,
      busy: this.host.busy,
      version: this.deps.version,
      accepting: this.accepting,
      lastSeen: new Date().toISOString(),
      slotStates: this.host.slotHealth(this.fleet.workerId),
    };
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    await this.registry.beat(this.beatOf());
  }

  /** Heartbeat; and when a host has come or gone, every event stream hears of the new slots. */
  private async tick(): Promise<void> {
    try {
      await this.beat();
      const ids = (await this.registry.live()).map((h) => h.id).join(',');
      if (ids !== this.liveHostIds) {
        this.liveHostIds = ids;
        this.scheduleSlots();
      }
    } catch { /* Redis away: reported by the connection */ }
  }

  private onMessage(channel: string, message: string): void {
    if (channel === channels.cancel) {
      // The host running the job stops it; elsewhere, noted in case the job starts here next.
      void this.host.cancel(message);
      return;
    }
    let event: { type: 'job'; job: JobStatus } | { type: 'slots' };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (event?.type === 'slots') this.scheduleSlots();
    // Anything else on the channel (another version, another program) is ignored rather than trusted.
    else if (event?.type === 'job' && typeof event.job?.jobId === 'string' && typeof event.job.state === 'string') {
      if (isFinalState(event.job.state)) this.host.forget(event.job.jobId);
      this.emit('job', event.job);
    }
  }

  /** Slot changes come in bursts (a job ends, the next starts): one read of the fleet per burst. */
  private scheduleSlots(): void {
    if (this.slotsTimer) return;
    this.slotsTimer = setTimeout(() => {
      this.slotsTimer = null;
      this.slots().then((s) => this.emit('slots', s), () => undefined);
    }, 25);
    this.slotsTimer.unref();
  }

  private statusOf(job: Job, position = 0): JobStatus {
    const live = this.host.logOf(job.id);
    return toStatus(live ? { ...job, outputTail: live.lines() } : job, position);
  }

  /** Stores the record (after every log byte before it) and tells every host; durable saves wait for Redis a little. */
  private async save(job: Job, durable: boolean): Promise<void> {
    if (this.abandoned.has(job.id)) return; // another host may have it now: its record is that host's to write
    const data = JSON.stringify(job);
    const event = JSON.stringify({ type: 'job', job: this.statusOf(job) });
    const final = isFinalState(job.state) ? '1' : '0';
    this.writes.write((r) => r.eval(SAVE_RECORD, 3, keys.job(job.id), keys.open, keys.cancel(job.id),
      data, String(job.attempts), String(RECORD_TTL_S), final, String(Date.parse(job.createdAt)), job.id, channels.events, event));
    if (durable) await this.writes.flushed(2_000);
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
      if (now - at <= this.fleet.lockMs || this.abandoned.has(id)) continue;
      this.abandoned.add(id);
      this.log.error({ jobId: id, sinceRenewalMs: now - at }, 'lost the lock of a running job: stopping it here (another host may run it)');
      void this.host.cancel(id);
    }
    const ids = [...this.local.keys()].filter((id) => !this.abandoned.has(id));
    if (ids.length === 0) return;
    try {
      const flags = await this.cmd.mget(ids.map((id) => keys.cancel(id)));
      ids.forEach((id, i) => {
        if (flags[i] !== null && !this.host.cancelled(id)) void this.host.cancel(id);
      });
    } catch { /* Redis away: next time */ }
  }

  /** BullMQ gave a job up (its processor failed on every attempt): its record says so, rather than queued forever. */
  private async onFailed(bullJob: BullJob<QueuedData> | undefined, err: Error): Promise<void> {
    this.log.error({ jobId: bullJob?.id, err: err.message, attempts: bullJob?.attemptsMade }, 'BullMQ job failed');
    if (!bullJob?.id || bullJob.attemptsMade < (bullJob.opts.attempts ?? 1)) return;
    const job = await this.record(bullJob.id, true).catch(() => undefined);
    if (!job || isFinalState(job.state)) return;
    finishJob(job, 'failed', { code: 'INTERNAL', message: 'the worker could not run this job; see the worker\'s log' });
    await this.save(job, true);
  }

  /** A job's record; `wait`: through the connection that waits for Redis (the processor), not the one that fails fast (requests). */
  private async record(id: string, wait = false): Promise<Job | undefined> {
    const raw = await (wait ? this.writer : this.cmd).get(keys.job(id));
    return raw ? (JSON.parse(raw) as Job) : undefined;
  }

  private newJob(id: string, scopeKey: string, request: GenerateCodeRequest, createdAt = new Date().toISOString()): Job {
    return {
      id, scopeKey, request, state: 'queued', attempts: 0, slotId: null, createdAt,
      startedAt: null, finishedAt: null, exitCode: null, signal: null, commitSha: null, error: null, outputTail: [],
    };
  }

  /** BullMQ's processor: one job, on one of this host's slots, when its branch is free. */
  private async process(bullJob: BullJob<QueuedData>, token: string | undefined): Promise<string> {
    const id = bullJob.id ?? '';
    const job = (await this.record(id, true)) ?? this.newJob(id, scopeKeyOf(bullJob.data.request), bullJob.data.request, bullJob.data.createdAt);
    if (isFinalState(job.state)) return job.state; // ended, but its completion never reached BullMQ (Redis was away)
    const endHere = async (state: 'cancelled' | 'failed', code: string, message: string) => {
      finishJob(job, state, { code, message });
      await this.save(job, true);
      const { owner, repo } = job.request;
      this.host.followUp(job, () => this.deps.credentials.forRepository(owner, repo));
      return job.state;
    };
    if ((await this.writer.exists(keys.cancel(id))) === 1) return endHere('cancelled', 'CANCELLED', 'cancelled before it started');
    if (job.state !== 'queued' && job.attempts >= MAX_ATTEMPTS) {
      return endHere('failed', 'INTERRUPTED', `the worker running this job stopped ${job.attempts} times; not trying again`);
    }
    if (job.state !== 'queued') this.log.warn({ jobId: id, state: job.state, attempts: job.attempts }, 'job was interrupted on another host; running it again');
    const lock = await this.locks.acquire(branchKeyOf(job), id, () => this.log.error({ jobId: id }, 'lost the branch lock of a running job (Redis unreachable too long)'));
    const slot = lock ? this.host.idleSlot() : undefined;
    if (!lock || !slot || !this.accepting) {
      await lock?.release();
      // Another job of this branch runs (or this host has no free slot): look again shortly.
      await bullJob.moveToDelayed(Date.now() + BRANCH_BUSY_RETRY_MS, token);
      throw new DelayedError();
    }
    job.host = this.fleet.workerId;
    this.local.set(id, job);
    this.renewedAt.set(id, Date.now());
    try {
      const result = await this.host.start(slot, job, {
        save: (j, durable) => this.save(j, durable),
        abandoned: (j) => this.abandoned.has(j.id),
        // The one check that cannot race a timer: BullMQ's lock, extended now, still carries this host's token.
        beforePush: async (j) => {
          const held = this.abandoned.has(j.id) ? 0 : await bullJob.extendLock(token ?? '', this.fleet.lockMs).catch(() => 0);
          if (held) return;
          this.abandoned.add(j.id);
          this.log.error({ jobId: j.id }, 'not pushing: the job\'s lock is no longer this host\'s (another host may run it)');
          throw new WorkerError('LOCK_LOST', 'the job was taken over by another worker host', 409);
        },
        openLog: (j) => {
          const jobLog = new JobLog(logPath(this.deps.config.stateDir, j.id), this.deps.config.sandbox.maxOutputBytes);
          jobLog.on('data', (bytes) => {
            if (!this.abandoned.has(j.id)) this.writes.append(keys.log(j.id), bytes);
          });
          return jobLog;
        },
      });
      if (this.abandoned.has(id)) return 'abandoned'; // BullMQ no longer counts it as ours either
      if (result.requeue) {
        // This host is shutting down: back to the queue for another host, without counting as stalled.
        await this.writes.flushed(2_000);
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

  async submit(request: GenerateCodeRequest): Promise<{ status: JobStatus; created: boolean }> {
    const scopeKey = scopeKeyOf(request);
    const id = jobIdFor(scopeKey);
    if (!this.accepting) {
      // A duplicate still gets its job; only new work waits for a host that is not stopping.
      const known = await this.record(id).catch(() => undefined);
      if (known && known.request.prNumber === request.prNumber && known.request.title === request.title) return { status: this.statusOf(known), created: false };
      throw new QueueFullError(30, 'this worker host is shutting down; try again shortly (another host may take it)');
    }
    let made = false;
    try {
      let job = this.newJob(id, scopeKey, request);
      const created = (await this.cmd.eval(CREATE_RECORD, 2, keys.job(id), keys.open, JSON.stringify(job), String(Date.parse(job.createdAt)), String(RECORD_TTL_S), id)) === 1;
      made = created;
      if (!created) {
        job = (await this.record(id)) ?? job;
        if (job.request.prNumber !== request.prNumber || job.request.title !== request.title) {
          throw new WorkerError('IDEMPOTENCY_CONFLICT', `idempotency key ${request.idempotencyKey} was already used for another pull request on ${request.branch}`, 409, 'idempotencyKey');
        }
      } else if ((await this.queue.count()) >= this.deps.config.queueLimit) {
        // Over the limit: the record made a moment ago goes again, so a retry is a new submit.
        await this.cmd.multi().del(keys.job(id)).zrem(keys.open, id).exec();
        throw new QueueFullError(this.host.retryAfterSeconds(this.deps.config.queueLimit));
      }
      // Told before BullMQ has it, so that no host can announce `preparing` before this `queued`.
      if (created) await this.cmd.publish(channels.events, JSON.stringify({ type: 'job', job: this.statusOf(job) }));
      // Adding a job id BullMQ already has is a no-op: a duplicate that finds its job still
      // queued adds it again, in case the host that made the record died before this line.
      if (job.state === 'queued') {
        // attempts: a processor that fails before its job runs (Redis dropped for a moment) is tried again, not lost.
        await this.queue.add('job', { request, createdAt: job.createdAt }, {
          jobId: id, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 },
        });
      }
      made = false;
      return { status: this.statusOf(job, job.state === 'queued' ? await this.position(id).catch(() => 0) : 0), created };
    } catch (e) {
      // A record BullMQ never got would show as queued forever: it goes (the client retries with the same key).
      if (made) await this.cmd.multi().del(keys.job(id)).zrem(keys.open, id).exec().catch(() => undefined);
      return unavailable(e, this.log);
    }
  }

  /** Jobs ahead of this one in BullMQ's wait list (LPUSHed, taken from the right). */
  private async position(id: string): Promise<number> {
    const waitKey = this.queue.keys.wait;
    if (!waitKey) return 0;
    const res = await this.cmd.multi().lpos(waitKey, id).llen(waitKey).exec();
    const pos = res?.[0]?.[1];
    const len = res?.[1]?.[1];
    return typeof pos === 'number' && typeof len === 'number' ? Math.max(0, len - 1 - pos) : 0;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const here = this.local.get(id);
    if (here) return this.statusOf(here);
    try {
      const job = await this.record(id);
      return job ? this.statusOf(job, job.state === 'queued' ? await this.position(id) : 0) : undefined;
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  async cancel(id: string): Promise<JobStatus> {
    // Listening before anything is asked, so that an end in between is not missed.
    const ended = this.waitFinal(id, CANCEL_PUSH_WAIT_MS + this.deps.config.killGraceMs);
    try {
      const job = this.local.get(id) ?? (await this.record(id));
      if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
      if (isFinalState(job.state)) return this.statusOf(job);
      // Asked for everywhere at once: the holder stops it (this host directly), a host about to start it does not;
      // a holder that missed the broadcast finds the flag within a second (watchRunning).
      if (this.local.has(id)) void this.host.cancel(id);
      await this.cmd.multi().set(keys.cancel(id), '1', 'EX', 24 * 3600).publish(channels.cancel, id).exec();
      const bullJob = await this.queue.getJob(id);
      let removed = false;
      if (bullJob && WAITING_STATES.has(await bullJob.getState())) removed = await bullJob.remove().then(() => true, () => false); // taken meanwhile: the holder cancels
      if (removed) {
        finishJob(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' });
        await this.save(job, true);
        const { owner, repo } = job.request;
        this.host.followUp(job, () => this.deps.credentials.forRepository(owner, repo));
        return this.statusOf(job);
      }
      // Running somewhere: the answer says how it ended (cancelled, or pushed after all).
      return (await ended.promise) ?? (await this.status(id)) ?? this.statusOf(job);
    } catch (e) {
      return unavailable(e, this.log);
    } finally {
      ended.cancel();
    }
  }

  /** The job's final status as the next event tells it (null after `ms`); `cancel` stops listening. */
  private waitFinal(id: string, ms: number): { promise: Promise<JobStatus | null>; cancel: () => void } {
    let done: (s: JobStatus | null) => void = () => {};
    const promise = new Promise<JobStatus | null>((resolve) => {
      const onJob = (s: JobStatus) => {
        if (s.jobId === id && isFinalState(s.state)) done(s);
      };
      done = (s) => {
        clearTimeout(timer);
        this.off('job', onJob);
        resolve(s);
      };
      const timer = setTimeout(() => done(null), ms);
      this.on('job', onJob);
    });
    return { promise, cancel: () => done(null) };
  }

  private localHealth(): PoolHealth {
    const beat = this.beatOf();
    const { slotStates, ...self } = beat;
    return {
      slots: slotStates, queued: 0, running: beat.busy, capacity: beat.slots, queueLimit: this.deps.config.queueLimit,
      // Redis is away: nothing can be stored, so nothing is accepted.
      accepting: false,
      agent: { command: this.host.agent.command, found: this.host.agent.found, message: this.host.agent.message },
      ...(this.deps.sandbox ? { sandbox: this.deps.sandbox.status() } : {}),
      version: this.deps.version, protocol: PROTOCOL_VERSION, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      hosts: [self], queue: 'redis',
    };
  }

  async health(): Promise<PoolHealth> {
    try {
      const [beats, queued] = await Promise.all([this.registry.live(), this.queue.count()]);
      const hosts = beats.map(({ slotStates: _, ...h }) => h);
      return {
        ...this.localHealth(),
        slots: beats.flatMap((b) => b.slotStates),
        queued,
        running: hosts.reduce((n, h) => n + h.busy, 0),
        capacity: hosts.reduce((n, h) => n + h.slots, 0),
        accepting: this.accepting,
        hosts,
      };
    } catch {
      return this.localHealth();
    }
  }

  async slots(): Promise<PoolSlots> {
    const { slots, queued, running, capacity, hosts } = await this.health();
    return { slots, queued, running, capacity, ...(hosts ? { hosts } : {}) };
  }

  async unfinished(): Promise<JobStatus[]> {
    try {
      const ids = await this.cmd.zrange(keys.open, 0, -1);
      if (ids.length === 0) return [];
      const raws = await this.cmd.mget(ids.map((id) => keys.job(id)));
      return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Job).filter((j) => !isFinalState(j.state)).map((j) => this.statusOf(this.local.get(j.id) ?? j));
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  /**
   * Reads the log from Redis, whichever host runs the job: one byte sequence for every
   * reader and every attempt. The record turns final only after the last log bytes
   * landed (one ordered write queue), so a final record read after an empty read means
   * the log is complete.
   */
  async followLog(id: string, offset: number, sink: LogSink): Promise<() => void> {
    if (!this.local.has(id) && !(await this.record(id).catch(unavailable))) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    let stopped = false;
    let wake: (() => void) | null = null;
    let pos = offset;
    let stateCheckedAt = 0;
    const pause = (ms: number) => new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
    const pump = async () => {
      while (!stopped) {
        try {
          const chunk = await this.cmd.getrangeBuffer(keys.log(id), pos, pos + 256 * 1024 - 1);
          if (chunk.length > 0) {
            sink.write(chunk);
            pos += chunk.length;
            continue;
          }
          // The record (large: the task, the output tail) is read at most once a second.
          if (Date.now() - stateCheckedAt < LOG_STATE_POLL_MS) {
            await pause(LOG_POLL_MS);
            continue;
          }
          stateCheckedAt = Date.now();
          const job = await this.record(id);
          if (!job || isFinalState(job.state)) {
            const rest = await this.cmd.getrangeBuffer(keys.log(id), pos, -1);
            if (rest.length > 0) sink.write(rest);
            sink.end();
            return;
          }
          await pause(LOG_POLL_MS);
        } catch {
          await pause(500); // Redis away: the reader stays and resumes where it was
        }
      }
    };
    void pump();
    return () => {
      stopped = true;
      (wake as (() => void) | null)?.();
    };
  }

  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    await this.beat().catch(() => undefined);
    // No new jobs for this host; the running ones finish or go back to the queue for the others.
    await this.worker?.pause(true).catch(() => undefined);
    await this.host.drain(graceMs);
  }

  async close(): Promise<void> {
    this.accepting = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    if (this.slotsTimer) clearTimeout(this.slotsTimer);
    await Promise.all([this.host.close(), this.worker?.close()]);
    await this.writes.flushed(2_000);
    this.closed = true;
    this.writes.close();
    await this.registry.leave(this.fleet.workerId).catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    for (const r of [this.cmd, this.writer, this.sub, this.lockConn, this.workerConn]) r?.disconnect();
  }
}
