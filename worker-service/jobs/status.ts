// A job's public status as the worker answers it now (GET /jobs/:id, GET /events), for
// either queue: the stored job, with the live tail of a running agent's output (its log
// on this host, if it runs here) and its queue position.
import type { JobStatus } from '../../shared/protocol.js';
import { toStatus, type Job } from './job.js';
import type { JobLog } from './log.js';

export function jobStatusOf(job: Job, live: JobLog | undefined, position = 0): JobStatus {
  return toStatus(live ? { ...job, outputTail: live.lines() } : job, position);
}
