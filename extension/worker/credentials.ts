// What a worker client asks of whoever holds its credentials, the fixed-token kind, and
// the errors and words of authenticating to the worker.
import type { ErrorBody } from '../../shared/protocol.js';

export type WorkerAuthMode = 'token' | 'github';

export type WorkerAuthErrorCode =
  /** github mode, and this editor has no GitHub sign-in (nor a pasted token). */
  | 'NO_GITHUB_TOKEN'
  /** The worker asked GitHub about the token and GitHub said no. */
  | 'GITHUB_TOKEN_REFUSED'
  /** A credential would have gone over plain HTTP to another machine, and the user has not agreed. */
  | 'INSECURE_TRANSPORT'
  /** The worker did not answer (its /healthz or /auth/github). */
  | 'UNREACHABLE'
  /** The worker answered the exchange with something else than a session. */
  | 'SESSION_FAILED';

export class WorkerAuthError extends Error {
  constructor(
    readonly code: WorkerAuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerAuthError';
  }
  static is(e: unknown): e is WorkerAuthError {
    return e instanceof WorkerAuthError;
  }
}

/** What a worker client asks of whoever holds the credentials. */
export interface WorkerCredentials {
  /** The Authorization header for the next request (undefined: none to send). Throws WorkerAuthError when it cannot be had. */
  authorization(): Promise<string | undefined>;
  /**
   * The worker answered 401 to a request that carried `sent`: a fresh header to retry
   * that request with, once, or undefined (nothing better to offer: the 401 stands).
   */
  retryAfter401(sent: string | undefined, code: string | undefined): Promise<string | undefined>;
  /** Words for the user when the worker refuses, saying what to do. */
  refusal(body: Partial<ErrorBody>): { code: string; message: string };
}

export const TOKEN_REFUSAL = 'The Kiro worker refused the token. Set the worker token (Kiro: Set Worker Token).';

/** A fixed worker token (token mode, known in advance): what the client did before sessions. */
export function staticToken(token: () => Promise<string | undefined>): WorkerCredentials {
  return {
    authorization: async () => {
      const t = await token();
      return t ? `Bearer ${t}` : undefined;
    },
    retryAfter401: async () => undefined,
    refusal: () => ({ code: 'UNAUTHORIZED', message: TOKEN_REFUSAL }),
  };
}

export function unreachableMessage(baseUrl: string, e: unknown): string {
  const cause = (e as { cause?: { code?: string } }).cause?.code;
  return `The Kiro worker at ${baseUrl} is unreachable (${cause ?? (e as Error).message}).`;
}
