// BullMQ's queue as the fleet's submitting side uses it: a job added once per id (with
// retries of a processor that fails before its job runs), its place in the wait list,
// how many wait, and a waiting job taken out when it is cancelled.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Job } from '../../jobs/job.js';
import { QUEUE_NAME } from './keys.js';
import type { QueuedData } from './validate.js';

const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']);

export class WaitList {
  private readonly queue: Queue<QueuedData>;

  /** `cmd`: the connection that fails at once while Redis is away. */
  constructor(private readonly cmd: Redis) {
    this.queue = new Queue<QueuedData>(QUEUE_NAME, { connection: cmd });
    this.queue.on('error', () => undefined); // reported by the connection's own handler
  }

  /**
   * Adding a job id BullMQ already has is a no-op. attempts: a processor that fails before
   * its job runs (Redis dropped for a moment) is tried again, not lost. The record's own
   * request goes (a duplicate's may differ in fields outside its key): the processor runs
   * only a record that matches it.
   */
  async add(job: Job): Promise<void> {
    await this.queue.add(
      'job',
      { request: job.request, createdAt: job.createdAt },
      {
        jobId: job.id,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  count(): Promise<number> {
    return this.queue.count();
  }

  /** Jobs ahead of this one in BullMQ's wait list (LPUSHed, taken from the right). */
  async position(id: string): Promise<number> {
    const waitKey = this.queue.keys.wait;
    if (!waitKey) return 0;
    const res = await this.cmd.multi().lpos(waitKey, id).llen(waitKey).exec();
    const pos = res?.[0]?.[1];
    const len = res?.[1]?.[1];
    return typeof pos === 'number' && typeof len === 'number' ? Math.max(0, len - 1 - pos) : 0;
  }

  /** Takes the job out if it still waits; false when a host has taken it meanwhile (the holder cancels it then). */
  async removeWaiting(id: string): Promise<boolean> {
    const bullJob = await this.queue.getJob(id);
    if (!bullJob || !WAITING_STATES.has(await bullJob.getState())) return false;
    return bullJob.remove().then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
