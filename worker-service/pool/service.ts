// What the HTTP routes see of the worker's jobs, whichever queue is behind them: the
// embedded one of a single host (embeddedService.ts) or a fleet's on Redis
// (fleet/fleetService.ts). Everything here speaks the wire types of shared/protocol.ts.
import type { EventEmitter } from 'node:events';
import type { GenerateCodeRequest, JobStatus, PoolHealth, PoolSlots } from '../../shared/protocol.js';

export interface JobServiceEvents {
  /** A job changed (any host's job, for a fleet): its status as GET /jobs/:id answers it now. */
  job: [JobStatus];
  /** Slots changed, or the number of queued jobs did. */
  slots: [PoolSlots];
}

/** Where a log reader's bytes go; `end` once the job has ended and every byte was written. */
export interface LogSink {
  write(chunk: Buffer | string): void;
  end(): void;
}

export interface JobService extends EventEmitter<JobServiceEvents> {
  readonly kind: 'embedded' | 'redis';
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
   * Replays the job's log from byte `offset`, then follows it until the job ends (a
   * queued job: once it starts). Returns a function that stops following.
   */
  followLog(id: string, offset: number, sink: LogSink): Promise<() => void>;
  /** SIGTERM: stop taking jobs; running ones may finish within `graceMs`, then go back to the queue. */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}
