// The rules every queue keeps alike, the embedded one and the fleet's: how a job ends,
// how often an interrupted one runs again, which jobs share a branch, how long a cancel
// waits on a push, and when a second submit with a known idempotency key is the same ask.
import type { GenerateCodeRequest, JobState } from '../../shared/protocol.js';
import type { ErrorCode } from '../../shared/errorCodes.js';
import { WorkerError } from '../errors.js';
import type { Job, JobError } from './job.js';

/** A job interrupted this many times (crashes of the service) fails rather than runs again. */
export const MAX_ATTEMPTS = 2;

/** How long a cancel of a job being pushed waits to answer with the push's outcome. */
export const CANCEL_PUSH_WAIT_MS = 8_000;

/** Two jobs with one key never run at once: a follow-up round starts from the result of the one before. */
export const branchKeyOf = (job: Job) => `${job.request.owner}/${job.request.repo}#${job.request.branch}`.toLowerCase();

export function finishJob(job: Job, state: JobState, error: (JobError & { code: ErrorCode }) | null = null): void {
  job.state = state;
  job.error = error;
  job.finishedAt = new Date().toISOString();
}

/**
 * A submit whose idempotency scope (scopeKeyOf) already has a job asks for that job again
 * when it names the same pull request and title; anything else is a conflict.
 */
export function sameRequest(
  known: Pick<GenerateCodeRequest, 'prNumber' | 'title'>,
  asked: Pick<GenerateCodeRequest, 'prNumber' | 'title'>,
): boolean {
  return known.prNumber === asked.prNumber && known.title === asked.title;
}

/** The answer to a submit that reuses an idempotency key for another request. */
export function idempotencyConflict(request: Pick<GenerateCodeRequest, 'idempotencyKey' | 'branch'>): WorkerError {
  return new WorkerError(
    'IDEMPOTENCY_CONFLICT',
    `idempotency key ${request.idempotencyKey} was already used for another pull request on ${request.branch}`,
    409,
    'idempotencyKey',
  );
}
