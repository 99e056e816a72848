// Errors of the delegation flow that a user can act on, with machine-readable codes.
export type DelegateErrorCode =
  | 'NOT_SIGNED_IN'
  | 'REPO_NOT_FOUND'
  | 'NO_WRITE_PERMISSION'
  | 'BASE_BRANCH_MISSING'
  | 'BRANCH_MISSING'
  | 'BRANCH_COLLISIONS'
  | 'GITHUB_ERROR'
  | 'INVALID_INPUT';

export class DelegateError extends Error {
  constructor(
    readonly code: DelegateErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
  static is(e: unknown): e is DelegateError {
    return e instanceof DelegateError;
  }
}
