// queue/ owns where jobs wait and who takes them: the embedded queue of a single host
// (embedded/) or a fleet's on Redis (fleet/), each behind the JobService below, which is
// what the HTTP routes see of the worker's jobs. Everything here speaks the wire types of shared/protocol.ts.
import type { EventEmitter } from 'node:events';
import type { GenerateCodeRequest, JobStatus, PoolHealth, PoolSlots } from '../../shared/protocol.js';
import type { AuditStore } from '../identity/audit.js';
import type { HostSlots } from '../host/hostSlots.js';

export interface JobServiceEvents {
  /** A job changed (any host's job, for a fleet): its status as GET /jobs/:id answers it now. */
  job: [JobStatus];
  /** Slots changed, or the number of queued jobs did. */
  slots: [PoolSlots];
  /** A fleet: one of this host's connections to Redis was lost (once per outage, as the log says it). */
  'redis-down': [connection: string];
}

/** Where a log reader's bytes go; `end` once the job has ended and every byte was written. */
export interface LogSink {
  write(chunk: Buffer | string): void;
  end(): void;
  /** Resolves when the reader has room again: a reader that can wait (a replay, Redis) waits for it before reading on. */
  ready?(): Promise<void>;
}

export interface RequesterQuery {
  limit: number;
  cursor?: string;
  sinceMs?: number;
}

/** A page cursor: the creation time (ms) and id of the last job of the page before. */
export function cursorOf(job: Pick<JobStatus, 'createdAt' | 'jobId'>): string {
  return `${Date.parse(job.createdAt)}_${job.jobId}`;
}

export function parseCursor(cursor: string | undefined): { ms: number; id: string } | undefined {
  const m = /^(\d{1,15})_([A-Za-z0-9_-]{1,64})$/.exec(cursor ?? '');
  return m?.[1] && m[2] ? { ms: Number(m[1]), id: m[2] } : undefined;
}

/** Newest first; the same millisecond ordered by id, so a page boundary is exact. */
export function newestFirst(a: Pick<JobStatus, 'createdAt' | 'jobId'>, b: Pick<JobStatus, 'createdAt' | 'jobId'>): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0);
}

/** Whether `job` comes after the cursor in newest-first order. */
export function afterCursor(job: Pick<JobStatus, 'createdAt' | 'jobId'>, cursor: { ms: number; id: string } | undefined): boolean {
  if (!cursor) return true;
  const ms = Date.parse(job.createdAt);
  return ms < cursor.ms || (ms === cursor.ms && job.jobId < cursor.id);
}

/** One page of a requester's jobs: newest first, after the cursor, at most `limit`, and the next page's cursor. */
export function pageOf(jobs: JobStatus[], cursor: string | undefined, limit: number): { jobs: JobStatus[]; nextCursor: string | null } {
  const after = parseCursor(cursor);
  const rest = [...jobs].sort(newestFirst).filter((j) => afterCursor(j, after));
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return { jobs: page, nextCursor: rest.length > limit && last ? cursorOf(last) : null };
}

export interface JobService extends EventEmitter<JobServiceEvents> {
  readonly kind: 'embedded' | 'redis';
  /** Where audit records are kept: beside the embedded queue's state, or in the fleet's Redis. */
  readonly audit: AuditStore;
  /** This host's slots, whose events (agent start and exit, a run's phases) the metrics read. */
  readonly host: HostSlots;
  init(): Promise<void>;
  /** Accepts a job, or returns the one already made for this idempotency key (created: false). */
  submit(request: GenerateCodeRequest): Promise<{ status: JobStatus; created: boolean }>;
  status(id: string): Promise<JobStatus | undefined>;
  /** Cancels a job wherever it is; answers once it has ended (or after a bounded wait while it pushes). */
  cancel(id: string): Promise<JobStatus>;
  health(): Promise<PoolHealth>;
  slots(): Promise<PoolSlots>;
  /** Every job not yet in a final state, oldest first. */
  unfinished(): Promise<JobStatus[]>;
  /**
   * The jobs `login` asked for (their `requestedBy`), newest first, every host's: at most
   * `limit` after `cursor` (from an earlier page), made since `sinceMs` if given, and the
   * cursor of the next page (null on the last).
   */
  byRequester(login: string, opts: RequesterQuery): Promise<{ jobs: JobStatus[]; nextCursor: string | null }>;
  /**
   * Replays the job's log from byte `offset`, then follows it until the job ends (a
   * queued job: once it starts). Returns a function that stops following.
   */
  followLog(id: string, offset: number, sink: LogSink): Promise<() => void>;
  /** Retention: forgets finished jobs that ended before `cutoffMs` (record, log, sandbox folder); how many. */
  sweep(cutoffMs: number): Promise<number>;
  /** SIGTERM: stop taking jobs; running ones may finish within `graceMs`, then go back to the queue. */
  drain(graceMs: number): Promise<void>;
  /** Since drain() or close(): this host takes no more jobs (GET /readyz answers 503). */
  readonly draining: boolean;
  close(): Promise<void>;
}
