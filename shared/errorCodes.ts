// Every error code the worker sends: in an HTTP error body ({ code, message }) and in a
// finished job's `error`. The wire schema keeps `code` a string, so an older or newer
// worker's code still parses: a client treats a code it does not know as a plain failure
// (isErrorCode says whether it knows it).
export const ERROR_CODES = [
  // Any request
  'BAD_REQUEST',
  'NOT_FOUND',
  'INTERNAL',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'MISDIRECTED',
  // Identity and authorization: see shared/protocol.ts AUTH_ERROR_CODES
  'UNAUTHORIZED',
  'GITHUB_TOKEN_REFUSED',
  'BAD_SIGNATURE',
  'FORBIDDEN',
  'FORBIDDEN_BRANCH',
  'REPO_NOT_ALLOWED',
  'PR_MISMATCH',
  'PR_CLOSED',
  'FORK',
  'QUOTA_EXCEEDED',
  'GITHUB_UNAVAILABLE',
  'CREDENTIALS_FAILED',
  // A webhook delivery's refusal (in the audit trail): a bot not in KIRO_ALLOWED_BOTS, a worker without a GitHub credential
  'BOT',
  'NO_CREDENTIAL',
  // Submitting and following jobs
  'QUEUE_FULL',
  'QUEUE_UNAVAILABLE',
  'IDEMPOTENCY_CONFLICT',
  'TOO_MANY_STREAMS',
  // Readiness (GET /readyz): the host drains, or its agents cannot be confined
  'DRAINING',
  'SANDBOX_UNAVAILABLE',
  // A finished job's error
  'CANCELLED',
  'TIMED_OUT',
  'INTERRUPTED',
  'INVALID_RECORD',
  'NO_CHANGES',
  'PR_CHANGED',
  'BUDGET_EXCEEDED',
  'LOCK_LOST',
  'CHECKOUT_FAILED',
  'SANDBOX_FAILED',
  'PUSH_FAILED',
  'PUSH_CONFLICT',
  'MEMORY_LIMIT',
  'PROCESS_LIMIT',
  'DISK_LIMIT',
  'OUTPUT_LIMIT',
  'AGENT_NOT_FOUND',
  'AGENT_SPAWN_FAILED',
  'AGENT_FAILED',
  'AGENT_CRASHED',
  'AGENT_SILENT',
  'AGENT_MCP_FAILED',
  'AGENT_CONFIG_NOT_FOUND',
  'AGENT_AUTH_FAILED',
  'AGENT_INPUT_ERROR',
  'AGENT_CONFIG_ERROR',
  'AGENT_TURN_LIMIT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `code` is one this build knows (a code from another version of the worker may not be). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN.has(code);
}
