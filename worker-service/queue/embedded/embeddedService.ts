// The routes' view (JobService) of a single host with its embedded durable queue.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { isFinalState, type GenerateCodeRequest, type JobStatus, type PoolHealth, type PoolSlots } from '../../../shared/protocol.js';
import type { Job } from '../../jobs/job.js';
import { logPath } from '../../jobs/log.js';
import { jobStatusOf } from '../../jobs/status.js';
import { WorkerError } from '../../errors.js';
import type { EmbeddedQueue } from './embeddedQueue.js';
import type { HostSlots } from '../../host/hostSlots.js';
import { FileAuditStore, type AuditStore } from '../../identity/audit.js';
import { sameLogin } from '../../identity/caller.js';
import { removeJobFiles } from '../../jobs/retention.js';
import { pageOf, type JobService, type JobServiceEvents, type LogSink, type RequesterQuery } from '../service.js';

export class EmbeddedJobService extends EventEmitter<JobServiceEvents> implements JobService {
  readonly kind = 'embedded';
  readonly audit: AuditStore;
  private lastQueued = 0;
  private queueCheck = false;

  constructor(
    readonly queue: EmbeddedQueue,
    private readonly stateDir: string,
  ) {
    super();
    this.audit = new FileAuditStore(stateDir);
    queue.on('job', (job) => {
      this.emit('job', this.statusOf(job));
      // A job that joins or leaves the queue without a slot change still changes `queued`;
      // checked once the queue's synchronous work is done (a submit dispatches at once).
      if (!this.queueCheck) {
        this.queueCheck = true;
        queueMicrotask(() => {
          this.queueCheck = false;
          if (this.slotsNow().queued !== this.lastQueued) this.emitSlots();
        });
      }
    });
    queue.on('slot', () => this.emitSlots());
  }

  private statusOf(job: Job): JobStatus {
    return jobStatusOf(job, this.queue.logOf(job.id), this.queue.position(job));
  }

  private emitSlots(): void {
    const s = this.slotsNow();
    this.lastQueued = s.queued;
    this.emit('slots', s);
  }

  private slotsNow(): PoolSlots {
    const { slots, queued, running, capacity } = this.queue.health();
    return { slots, queued, running, capacity };
  }

  get host(): HostSlots {
    return this.queue.host;
  }

  private find(id: string): Job {
    const job = this.queue.jobs.get(id);
    if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return job;
  }

  async init(): Promise<void> {
    await this.queue.init();
    this.lastQueued = this.slotsNow().queued;
  }

  async submit(request: GenerateCodeRequest): Promise<{ status: JobStatus; created: boolean }> {
    const { job, created } = await this.queue.submit(request);
    return { status: this.statusOf(job), created };
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const job = this.queue.jobs.get(id);
    return job ? this.statusOf(job) : undefined;
  }

  async cancel(id: string): Promise<JobStatus> {
    return this.statusOf(await this.queue.cancel(this.find(id).id));
  }

  async health(): Promise<PoolHealth> {
    return this.queue.health();
  }

  async slots(): Promise<PoolSlots> {
    return this.slotsNow();
  }

  async unfinished(): Promise<JobStatus[]> {
    return [...this.queue.jobs.values()]
      .filter((j) => !isFinalState(j.state))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((j) => this.statusOf(j));
  }

  async byRequester(login: string, opts: RequesterQuery): Promise<{ jobs: JobStatus[]; nextCursor: string | null }> {
    const mine = [...this.queue.jobs.values()]
      .filter((j) => sameLogin(j.request.requestedBy, login) && (opts.sinceMs === undefined || Date.parse(j.createdAt) >= opts.sinceMs))
      .map((j) => this.statusOf(j));
    return pageOf(mine, opts.cursor, opts.limit);
  }

  async followLog(id: string, offset: number, sink: LogSink): Promise<() => void> {
    const job = this.find(id);
    const queue = this.queue;
    const file = logPath(this.stateDir, job.id);
    const fromFile = (): (() => void) => {
      if (!existsSync(file) || statSync(file).size <= offset) {
        sink.end();
        return () => {};
      }
      const stream = createReadStream(file, { start: offset });
      // Read on only as fast as the reader takes it.
      stream
        .on('data', (d) => {
          sink.write(d);
          const room = sink.ready?.();
          if (!room) return;
          stream.pause();
          void room.then(() => stream.resume());
        })
        .on('end', () => sink.end())
        .on('error', () => sink.end());
      return () => stream.destroy();
    };
    // A job that just ended may still be writing its last lines: the live log knows them, the file may not yet.
    const attach = (): (() => void) | null => {
      const live = queue.logOf(job.id);
      if (live)
        return live.follow(
          (d) => sink.write(d),
          () => sink.end(),
          offset,
        );
      return isFinalState(job.state) ? fromFile() : null;
    };
    const attached = attach();
    if (attached) return attached;
    // Queued: wait for a slot, then the same.
    let stop = () => {};
    const onJob = (changed: Job) => {
      if (changed.id !== job.id) return;
      const a = attach();
      if (!a) return;
      queue.off('job', onJob);
      stop = a;
    };
    queue.on('job', onJob);
    stop = () => queue.off('job', onJob);
    return () => stop();
  }

  async sweep(cutoffMs: number): Promise<number> {
    const old = [...this.queue.jobs.values()].filter(
      (j) => isFinalState(j.state) && j.finishedAt !== null && Date.parse(j.finishedAt) < cutoffMs,
    );
    for (const job of old) {
      await this.queue.forget(job.id);
      await removeJobFiles(this.stateDir, job.id);
    }
    return old.length;
  }

  get draining(): boolean {
    return !this.queue.accepting;
  }

  async drain(graceMs: number): Promise<void> {
    await this.queue.drain(graceMs);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
