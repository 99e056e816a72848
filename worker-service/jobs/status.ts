// A job's public status as the worker answers it now (GET /jobs/:id, GET /events):
// the stored job, with the live tail of a running agent's output and its queue position.
import type { JobStatus } from '../../shared/protocol.js';
import type { Pool } from '../queue/embedded/embeddedQueue.js';
import { toStatus, type Job } from './job.js';

export function jobStatusOf(pool: Pool, job: Job): JobStatus {
  const live = pool.logOf(job.id);
  return toStatus(live ? { ...job, outputTail: live.lines() } : job, pool.position(job));
}
