// This host's part of a fleet sharing one queue on Redis (KIRO_REDIS_URL), behind the
// same JobService the routes use for a single host: any host enqueues, reports,
// cancels and streams any job. BullMQ holds the queue; this host's processor
// (processor.ts) takes jobs for its idle slots, and a job whose host stops renewing its
// lock (kill -9, a lost machine) is taken up by another host after the stalled check.
// Around BullMQ, in Redis:
// - each job's record (records.ts; the job's id derives from its idempotency scope, so
//   concurrent submits on several hosts make one job);
// - a per-branch lock (branchLock.ts), since two jobs of one branch never run at once;
// - the agent's log, appended as it comes, which every host reads from (logReader.ts);
// - heartbeats (hosts.ts) for /health, and pub/sub for events and cancels.
// Redis is input, not truth: records, BullMQ jobs and pub/sub messages are checked
// (validate.ts) before they are used; what fails is dropped and logged.
// Records and log bytes go through a write-behind queue (writeBehind.ts): a running job
// never waits on Redis, and what it wrote reaches Redis in order once it is back.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { isFinalState, PROTOCOL_VERSION, type GenerateCodeRequest, type JobStatus, type PoolHealth, type PoolSlots } from '../../shared/protocol.js';
import type { FleetConfig } from '../config.js';
import { scopeKeyOf, type Job } from '../jobs/job.js';
import { QueueFullError, WorkerError } from '../pool/errors.js';
import { SlotHost, type HostDeps } from '../pool/host.js';
import { finishJob } from '../pool/jobRunner.js';
import { CANCEL_PUSH_WAIT_MS } from '../pool/pool.js';
import { RedisAuditStore, type AuditStore } from '../identity/audit.js';
import { afterCursor, cursorOf, newestFirst, parseCursor, type JobService, type JobServiceEvents, type LogSink, type RequesterQuery } from '../pool/service.js';
import { BranchLocks } from './branchLock.js';
import { HostRegistry, type HostBeat } from './hosts.js';
import { channels, jobIdFor, keys, LOG_TTL_S, QUEUE_NAME } from './keys.js';
import { followRedisLog, LogBell } from './logReader.js';
import { sweepJobFiles } from '../jobs/retention.js';
import { FleetProcessor, type QueuedData } from './processor.js';
import { JobRecords, newJob } from './records.js';
import { checkCancelMessage, checkEventMessage, isFleetJobId } from './validate.js';
import { WriteBehind } from './writeBehind.js';

/** Malformed input from Redis is logged at most this often per kind (with how many were dropped meanwhile). */
const DROP_LOG_MS = 10_000;

/** What a client is told to wait when Redis is out of reach. */
const UNAVAILABLE_RETRY_S = 5;
const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']);

/** Redis failed a request: the client hears 503 with Retry-After (never where Redis lives); the log gets the detail. */
function unavailable(e: unknown, log?: Logger): never {
  if (WorkerError.is(e)) throw e;
  log?.warn({ err: (e as Error).message }, 'request failed: Redis unreachable');
  throw new QueueFullError(UNAVAILABLE_RETRY_S, 'the job queue (Redis) is out of reach; try again shortly', 'QUEUE_UNAVAILABLE');
}

export class FleetJobService extends EventEmitter<JobServiceEvents> implements JobService {
  readonly kind = 'redis';
  readonly audit: AuditStore;
  /** Wakes this host's log readers when a job's log grows or the job changes (pub/sub). */
  private readonly logBell = new LogBell();
  readonly host: SlotHost;
  /** Requests: fails at once while Redis is away (no offline queue), so a client gets 503, never a hang. */
  private readonly cmd: Redis;
  /** Write-behind: waits for Redis to come back. */
  private readonly writer: Redis;
  private readonly sub: Redis;
  private readonly queue: Queue<QueuedData>;
  private readonly processor: FleetProcessor;
  /** The branch locks' own connection: their renewals never wait behind a backlog of log bytes. */
  private readonly lockConn: Redis;
  private readonly writes: WriteBehind;
  private readonly records: JobRecords;
  private readonly locks: BranchLocks;
  private readonly registry: HostRegistry;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private slotsTimer: NodeJS.Timeout | null = null;
  private liveHostIds = '';
  private readonly startedAt = Date.now();
  private accepting = true;
  private closed = false;
  private readonly log: Logger;
  /** Per kind of malformed input from Redis: when it was last logged, and how many since. */
  private readonly drops = new Map<string, { at: number; count: number }>();

  constructor(private readonly deps: HostDeps, private readonly fleet: FleetConfig) {
    super();
    this.log = deps.log.child({ host: fleet.workerId });
    this.host = new SlotHost({ ...deps, log: this.log });
    const connect = (name: string, opts: RedisOptions) => {
      const r = new Redis(fleet.redisUrl, { connectionName: `kiro-${name}-${fleet.workerId}`, ...opts });
      let down = false;
      // One line when the connection drops and one when it is back, not one per retry.
      r.on('error', (e: Error) => {
        if (!down) {
          this.log.warn({ conn: name, err: e.message }, 'Redis unreachable; retrying');
          this.emit('redis-down', name);
        }
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
    }, Math.min(LOG_TTL_S, deps.config.retentionDays * 86_400));
    this.records = new JobRecords(this.cmd, this.writer, this.writes, (id, problem) => this.dropped('record', problem, id), deps.config.retentionDays * 86_400);
    // Through the ordered write-behind: a record of a refusal is not lost to a blip, nor does it hold the request.
    this.audit = new RedisAuditStore(this.cmd, (run) => this.writes.write(run));
    // The processor's locks wait for Redis rather than fail the job at a blip.
    this.locks = new BranchLocks(this.lockConn, fleet.branchLockMs, fleet.workerId);
    this.registry = new HostRegistry(this.cmd, fleet.heartbeatMs);
    this.processor = new FleetProcessor({
      hostDeps: deps, fleet, slotHost: this.host, records: this.records, locks: this.locks, writes: this.writes,
      cmd: this.cmd, writer: this.writer, log: this.log, audit: this.audit, accepting: () => this.accepting,
    });
    this.host.on('slot', () => {
      void this.beat().then(() => this.cmd.publish(channels.events, JSON.stringify({ type: 'slots' }))).catch(() => undefined);
    });
  }

  async init(): Promise<void> {
    await this.host.init();
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // Not awaited: a host starts (and answers 503) while Redis is away, and subscribes once it is back.
    void this.sub.subscribe(channels.events, channels.cancel, channels.logs).catch(() => undefined);
    this.processor.start();
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
    if (channel === channels.logs) {
      // A job's log grew (the message is its id): its readers on this host read on. Anything else is no job's.
      if (isFleetJobId(message)) this.logBell.ring(message);
      return;
    }
    if (channel === channels.cancel) {
      const cancel = checkCancelMessage(message);
      if (!cancel.ok) return this.dropped('cancel message', cancel.problem);
      // The host running the job stops it; elsewhere, noted in case the job starts here next.
      void this.host.cancel(cancel.value);
      return;
    }
    if (channel !== channels.events) return;
    // Anything malformed on the channel (another version, another program) is dropped rather than trusted, or relayed.
    const checked = checkEventMessage(message);
    if (!checked.ok) return this.dropped('event message', checked.problem);
    const event = checked.value;
    if (event.type === 'slots') this.scheduleSlots();
    else {
      if (isFinalState(event.job.state)) this.host.forget(event.job.jobId);
      this.logBell.ring(event.job.jobId);
      this.emit('job', event.job);
    }
  }

  /** Malformed input read from Redis: dropped, and logged (at most once per DROP_LOG_MS per kind, with a count). */
  private dropped(what: string, problem: string, id?: string): void {
    const now = Date.now();
    const seen = this.drops.get(what) ?? { at: 0, count: 0 };
    seen.count += 1;
    this.drops.set(what, seen);
    if (now - seen.at < DROP_LOG_MS) return;
    this.log.warn({ problem, dropped: seen.count, ...(id !== undefined ? { jobId: id.slice(0, 100) } : {}) }, `dropped a malformed ${what} read from Redis`);
    seen.at = now;
    seen.count = 0;
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
    return this.processor.statusOf(job, position);
  }

  async submit(request: GenerateCodeRequest): Promise<{ status: JobStatus; created: boolean }> {
    const scopeKey = scopeKeyOf(request);
    const id = jobIdFor(scopeKey);
    if (!this.accepting) {
      // A duplicate still gets its job; only new work waits for a host that is not stopping.
      const known = await this.records.get(id).catch(() => undefined);
      if (known && known.request.prNumber === request.prNumber && known.request.title === request.title) return { status: this.statusOf(known), created: false };
      throw new QueueFullError(30, 'this worker host is shutting down; try again shortly (another host may take it)');
    }
    let made = false;
    try {
      let job = newJob(id, scopeKey, request);
      const created = await this.records.create(job);
      made = created;
      if (!created) {
        job = (await this.records.get(id)) ?? job;
        if (job.request.prNumber !== request.prNumber || job.request.title !== request.title) {
          throw new WorkerError('IDEMPOTENCY_CONFLICT', `idempotency key ${request.idempotencyKey} was already used for another pull request on ${request.branch}`, 409, 'idempotencyKey');
        }
      } else if ((await this.queue.count()) >= this.deps.config.queueLimit) {
        // Over the limit: the record made a moment ago goes again, so a retry is a new submit.
        await this.records.remove(id);
        throw new QueueFullError(this.host.retryAfterSeconds(this.deps.config.queueLimit));
      }
      // Told before BullMQ has it, so that no host can announce `preparing` before this `queued`.
      if (created) await this.cmd.publish(channels.events, JSON.stringify({ type: 'job', job: this.statusOf(job) }));
      // Adding a job id BullMQ already has is a no-op: a duplicate that finds its job still
      // queued adds it again, in case the host that made the record died before this line.
      if (job.state === 'queued') {
        // attempts: a processor that fails before its job runs (Redis dropped for a moment) is tried again, not lost.
        // The record's own request (a duplicate's may differ in fields outside its key): the processor runs only a record that matches it.
        await this.queue.add('job', { request: job.request, createdAt: job.createdAt }, {
          jobId: id, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 },
        });
      }
      made = false;
      return { status: this.statusOf(job, job.state === 'queued' ? await this.position(id).catch(() => 0) : 0), created };
    } catch (e) {
      // A record BullMQ never got would show as queued forever: it goes (the client retries with the same key).
      if (made) await this.records.remove(id).catch(() => undefined);
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
    const here = this.processor.runningHere(id);
    if (here) return this.statusOf(here);
    try {
      const job = await this.records.get(id);
      return job ? this.statusOf(job, job.state === 'queued' ? await this.position(id) : 0) : undefined;
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  async cancel(id: string): Promise<JobStatus> {
    // Listening before anything is asked, so that an end in between is not missed.
    const ended = this.waitFinal(id, CANCEL_PUSH_WAIT_MS + this.deps.config.killGraceMs);
    try {
      const job = this.processor.runningHere(id) ?? (await this.records.get(id));
      if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
      if (isFinalState(job.state)) return this.statusOf(job);
      // Asked for everywhere at once: the holder stops it (this host directly), a host about to start it does not;
      // a holder that missed the broadcast finds the flag within a second (watchRunning).
      if (this.processor.runningHere(id)) void this.host.cancel(id);
      await this.cmd.multi().set(keys.cancel(id), '1', 'EX', 24 * 3600).publish(channels.cancel, id).exec();
      const bullJob = await this.queue.getJob(id);
      let removed = false;
      if (bullJob && WAITING_STATES.has(await bullJob.getState())) removed = await bullJob.remove().then(() => true, () => false); // taken meanwhile: the holder cancels
      if (removed) {
        finishJob(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' });
        await this.processor.save(job, true);
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
      return (await this.records.open()).map((j) => this.statusOf(this.processor.runningHere(j.id) ?? j));
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  async byRequester(login: string, opts: RequesterQuery): Promise<{ jobs: JobStatus[]; nextCursor: string | null }> {
    const cursor = parseCursor(opts.cursor);
    try {
      // Jobs of the cursor's own millisecond may come back again: a margin, then the exact cut.
      const jobs = (await this.records.byRequester(login, cursor?.ms ?? Date.now() + 60_000, opts.sinceMs ?? 0, opts.limit + 21))
        .map((j) => this.statusOf(this.processor.runningHere(j.id) ?? j))
        .sort(newestFirst)
        .filter((j) => afterCursor(j, cursor));
      const page = jobs.slice(0, opts.limit);
      const last = page.at(-1);
      return { jobs: page, nextCursor: jobs.length > opts.limit && last ? cursorOf(last) : null };
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  /**
   * Retention: records of finished jobs expire by themselves (their last save set the
   * lifetime); this host's own log files and sandbox folders older than the cutoff go, and
   * the per-user lists lose entries made before it.
   */
  async sweep(cutoffMs: number): Promise<number> {
    const removed = await sweepJobFiles(this.deps.config.stateDir, cutoffMs, (id) => !!this.processor.runningHere(id));
    try {
      let cursor = '0';
      do {
        const [next, found] = await this.cmd.scan(cursor, 'MATCH', keys.byUser('*'), 'COUNT', 500);
        cursor = next;
        for (const key of found) await this.cmd.zremrangebyscore(key, '-inf', `(${cutoffMs}`);
      } while (cursor !== '0');
    } catch { /* Redis away: the next sweep */ }
    return removed;
  }

  /** The log, from Redis (logReader.ts), whichever host runs or ran the job. */
  async followLog(id: string, offset: number, sink: LogSink): Promise<() => void> {
    if (!this.processor.runningHere(id) && !(await this.records.get(id).catch(unavailable))) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return followRedisLog(this.cmd, id, offset, sink, async () => {
      const job = await this.records.get(id);
      return !job || isFinalState(job.state);
    }, this.logBell);
  }

  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    await this.beat().catch(() => undefined);
    // No new jobs for this host; the running ones finish or go back to the queue for the others.
    await this.processor.pause();
    await this.host.drain(graceMs);
  }

  async close(): Promise<void> {
    this.accepting = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.slotsTimer) clearTimeout(this.slotsTimer);
    await Promise.all([this.host.close(), this.processor.close()]);
    await this.writes.flushed(2_000);
    this.closed = true;
    this.writes.close();
    await this.registry.leave(this.fleet.workerId).catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    for (const r of [this.cmd, this.writer, this.sub, this.lockConn]) r.disconnect();
  }
}
