// A job's end as the service's next event tells it: what cancel answers once the
// running host has stopped the job (or pushed after all), wherever that host is.
import type { EventEmitter } from 'node:events';
import { isFinalState, type JobStatus } from '../../shared/protocol.js';
import type { JobServiceEvents } from './service.js';

/** The job's final status as the next event tells it (null after `ms`); `cancel` stops listening. */
export function waitFinal(
  events: EventEmitter<JobServiceEvents>,
  id: string,
  ms: number,
): { promise: Promise<JobStatus | null>; cancel: () => void } {
  let done: (s: JobStatus | null) => void = () => {};
  const promise = new Promise<JobStatus | null>((resolve) => {
    const onJob = (s: JobStatus) => {
      if (s.jobId === id && isFinalState(s.state)) done(s);
    };
    done = (s) => {
      clearTimeout(timer);
      events.off('job', onJob);
      resolve(s);
    };
    const timer = setTimeout(() => done(null), ms);
    events.on('job', onJob);
  });
  return { promise, cancel: () => done(null) };
}
