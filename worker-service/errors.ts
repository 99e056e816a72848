// Errors the pool reports to the routes, each with a machine-readable code.
import type { ErrorCode } from '../shared/errorCodes.js';
export class WorkerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly field?: string,
  ) {
    super(message);
  }
  static is(e: unknown): e is WorkerError {
    return e instanceof WorkerError;
  }
}

export class QueueFullError extends WorkerError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'every slot is busy and the queue is full; try again later',
    code: ErrorCode = 'QUEUE_FULL',
  ) {
    super(code, message, 503);
  }
}

/** The branch moved while the agent worked and its commit does not apply on top (git/workspace.ts). */
export class PushConflictError extends Error {
  readonly code = 'PUSH_CONFLICT';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
