// queue/fleet/ owns the fleet's queue on Redis (KIRO_REDIS_URL): BullMQ holds it, and around
// it job records, branch locks, logs, heartbeats and pub/sub (docs/operations/fleet.md, "How
// it works"). This file: this host's part of it, behind the JobService the routes use for a
// single host: any host enqueues, reports, cancels and streams any job.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isFinalState, type GenerateCodeRequest, type JobStatus, type PoolHealth, type PoolSlots } from '../../../shared/protocol.js';
import type { FleetConfig } from '../../config.js';
import { scopeKeyOf, type Job } from '../../jobs/job.js';
import { QueueFullError, WorkerError } from '../../errors.js';
import { HostSlots, type HostDeps } from '../../host/hostSlots.js';
import { CANCEL_PUSH_WAIT_MS, finishJob, idempotencyConflict, sameRequest } from '../../jobs/rules.js';
import { RedisAuditStore, type AuditStore } from '../../identity/audit.js';
import { pageOf, parseCursor, type JobService, type JobServiceEvents, type LogSink, type RequesterQuery } from '../service.js';
import { BranchLocks } from './branchLock.js';
import { waitFinal } from '../waitFinal.js';
import { FleetBus } from './bus.js';
import { FleetConnections, unavailable } from './connections.js';
import { HostRegistry } from './hosts.js';
import { FleetMembership } from './membership.js';
import { jobIdFor, LOG_TTL_S } from './keys.js';
import { followRedisLog, LogBell } from './logReader.js';
import { sweepJobFiles } from '../../jobs/retention.js';
import { FleetProcessor } from './processor.js';
import { WaitList } from './waitList.js';
import { JobRecords, newJob } from './records.js';
import { WriteBehind } from './writeBehind.js';

export class FleetJobService extends EventEmitter<JobServiceEvents> implements JobService {
  readonly kind = 'redis';
  readonly audit: AuditStore;
  /** Wakes this host's log readers when a job's log grows or the job changes (pub/sub). */
  private readonly logBell = new LogBell();
  readonly host: HostSlots;
  private readonly conns: FleetConnections;
  private readonly bus: FleetBus;
  private readonly queue: WaitList;
  private readonly processor: FleetProcessor;
  private readonly writes: WriteBehind;
  private readonly records: JobRecords;
  private readonly locks: BranchLocks;
  private readonly membership: FleetMembership;
  private slotsTimer: NodeJS.Timeout | null = null;
  private accepting = true;
  private readonly log: Logger;

  constructor(
    private readonly deps: HostDeps,
    private readonly fleet: FleetConfig,
  ) {
    super();
    this.log = deps.log.child({ host: fleet.workerId });
    this.host = new HostSlots({ ...deps, log: this.log });
    this.conns = new FleetConnections(fleet, this.log, (name) => this.emit('redis-down', name));
    const { cmd, writer } = this.conns;
    this.bus = new FleetBus(cmd, this.conns.sub, (what, problem) => this.conns.dropped(what, problem));
    this.queue = new WaitList(cmd);
    this.writes = new WriteBehind(
      writer,
      (e, op) => this.conns.writeFailed(e, op),
      Math.min(LOG_TTL_S, deps.config.retentionDays * 86_400),
    );
    this.records = new JobRecords(
      cmd,
      writer,
      this.writes,
      (id, problem) => this.conns.dropped('record', problem, id),
      deps.config.retentionDays * 86_400,
    );
    // Through the ordered write-behind: a record of a refusal is not lost to a blip, nor does it hold the request.
    this.audit = new RedisAuditStore(cmd, (run) => this.writes.write(run));
    // The processor's locks wait for Redis rather than fail the job at a blip.
    this.locks = new BranchLocks(this.conns.locks, fleet.branchLockMs, fleet.workerId);
    this.membership = new FleetMembership({
      host: this.host,
      registry: new HostRegistry(cmd, fleet.heartbeatMs),
      fleet,
      deps,
      accepting: () => this.accepting,
      queued: () => this.queue.count(),
      hostsChanged: () => this.scheduleSlots(),
    });
    this.processor = new FleetProcessor({
      hostDeps: deps,
      fleet,
      hostSlots: this.host,
      records: this.records,
      locks: this.locks,
      writes: this.writes,
      cmd,
      writer,
      log: this.log,
      audit: this.audit,
      accepting: () => this.accepting,
    });
    this.host.on('slot', () => {
      void this.membership
        .beat()
        .then(() => this.bus.publish({ type: 'slots' }))
        .catch(() => undefined);
    });
  }

  async init(): Promise<void> {
    await this.host.init();
    this.bus.on('log', (id) => this.logBell.ring(id));
    // The host running the job stops it; elsewhere, noted in case the job starts here next.
    this.bus.on('cancel', (id) => void this.host.cancel(id));
    this.bus.on('slots', () => this.scheduleSlots());
    this.bus.on('job', (job) => {
      if (isFinalState(job.state)) this.host.forget(job.jobId);
      this.logBell.ring(job.jobId);
      this.emit('job', job);
    });
    // Not awaited: a host starts (and answers 503) while Redis is away, and subscribes once it is back.
    void this.bus.subscribe().catch(() => undefined);
    this.processor.start();
    this.membership.start();
    this.log.info(
      { slots: this.host.slots.length, lockMs: this.fleet.lockMs, stalledCheckMs: this.fleet.stalledCheckMs },
      'joined the fleet queue on Redis',
    );
  }

  /** Slot changes come in bursts (a job ends, the next starts): one read of the fleet per burst. */
  private scheduleSlots(): void {
    if (this.slotsTimer) return;
    this.slotsTimer = setTimeout(() => {
      this.slotsTimer = null;
      this.slots().then(
        (s) => this.emit('slots', s),
        () => undefined,
      );
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
      if (known && sameRequest(known.request, request)) return { status: this.statusOf(known), created: false };
      throw new QueueFullError(30, 'this worker host is shutting down; try again shortly (another host may take it)');
    }
    let made = false;
    try {
      let job = newJob(id, scopeKey, request);
      const created = await this.records.create(job);
      made = created;
      if (!created) {
        job = (await this.records.get(id)) ?? job;
        if (!sameRequest(job.request, request)) throw idempotencyConflict(request);
      } else if ((await this.queue.count()) >= this.deps.config.queueLimit) {
        // Over the limit: the record made a moment ago goes again, so a retry is a new submit.
        await this.records.remove(id);
        throw new QueueFullError(this.host.retryAfterSeconds(this.deps.config.queueLimit));
      }
      // Told before BullMQ has it, so that no host can announce `preparing` before this `queued`.
      if (created) await this.bus.publish({ type: 'job', job: this.statusOf(job) });
      // A duplicate that finds its job still queued adds it again (a no-op if BullMQ has it),
      // in case the host that made the record died before this line.
      if (job.state === 'queued') await this.queue.add(job);
      made = false;
      return { status: this.statusOf(job, job.state === 'queued' ? await this.queue.position(id).catch(() => 0) : 0), created };
    } catch (e) {
      // A record BullMQ never got would show as queued forever: it goes (the client retries with the same key).
      if (made) await this.records.remove(id).catch(() => undefined);
      return unavailable(e, this.log);
    }
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const here = this.processor.runningHere(id);
    if (here) return this.statusOf(here);
    try {
      const job = await this.records.get(id);
      return job ? this.statusOf(job, job.state === 'queued' ? await this.queue.position(id) : 0) : undefined;
    } catch (e) {
      return unavailable(e, this.log);
    }
  }

  async cancel(id: string): Promise<JobStatus> {
    // Listening before anything is asked, so that an end in between is not missed.
    const ended = waitFinal(this, id, CANCEL_PUSH_WAIT_MS + this.deps.config.killGraceMs);
    try {
      const job = this.processor.runningHere(id) ?? (await this.records.get(id));
      if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
      if (isFinalState(job.state)) return this.statusOf(job);
      // Asked for everywhere at once: the holder stops it (this host directly), a host about to start it does not;
      // a holder that missed the broadcast finds the flag within a second (watchRunning).
      if (this.processor.runningHere(id)) void this.host.cancel(id);
      await this.bus.cancel(id);
      if (await this.queue.removeWaiting(id)) {
        finishJob(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' });
        await this.processor.save(job, true);
        const { owner, repo } = job.request;
        this.host.afterJob(job, () => this.deps.credentials.forRepository(owner, repo));
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

  health(): Promise<PoolHealth> {
    return this.membership.health();
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
      const jobs = await this.records.byRequester(login, cursor?.ms ?? Date.now() + 60_000, opts.sinceMs ?? 0, opts.limit + 21);
      return pageOf(
        jobs.map((j) => this.statusOf(this.processor.runningHere(j.id) ?? j)),
        opts.cursor,
        opts.limit,
      );
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
    await this.records.pruneRequesterLists(cutoffMs).catch(() => undefined); // Redis away: the next sweep
    return removed;
  }

  /** The log, from Redis (logReader.ts), whichever host runs or ran the job. */
  async followLog(id: string, offset: number, sink: LogSink): Promise<() => void> {
    if (!this.processor.runningHere(id) && !(await this.records.get(id).catch(unavailable)))
      throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return followRedisLog(
      this.conns.cmd,
      id,
      offset,
      sink,
      async () => {
        const job = await this.records.get(id);
        return !job || isFinalState(job.state);
      },
      this.logBell,
    );
  }

  get draining(): boolean {
    return !this.accepting;
  }

  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    await this.membership.beat().catch(() => undefined);
    // No new jobs for this host; the running ones finish or go back to the queue for the others.
    await this.processor.pause();
    await this.host.drain(graceMs);
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.membership.stop();
    if (this.slotsTimer) clearTimeout(this.slotsTimer);
    await Promise.all([this.host.close(), this.processor.close()]);
    await this.writes.flushed(2_000);
    this.writes.close();
    await this.membership.leave();
    await this.queue.close();
    this.conns.disconnect();
  }
}
