// What the user can do about an error code: the worker's (shared/errorCodes.ts) or the
// extension's own reasons for not sending a credential (WorkerAuthErrorCode). One
// exhaustive switch, so a code added to the union must be given a remedy here; a code this
// build does not know (a newer worker's) is 'unknown', and callers treat it as a plain failure.
import { isErrorCode, type ErrorCode } from '../../shared/errorCodes.js';
import type { WorkerAuthErrorCode } from './credentials.js';

export type Remedy =
  /** Sign in to GitHub again, or set a GitHub token. */
  | 'github-sign-in'
  /** Set the worker token (or sign in to the worker again). */
  | 'worker-credential'
  /** Agree to plain HTTP, or use an https:// worker address. */
  | 'transport'
  /** The worker's address or settings. */
  | 'settings'
  /** Try again later (a limit, or something busy or away). */
  | 'wait'
  /** Ask for access: the repository, the branch or the App is not open to this user. */
  | 'access'
  /** The request itself must change (its PR, its branch, its fields). */
  | 'fix-request'
  /** The job ran and ended so: its message says why; a follow-up or a new delegation may help. */
  | 'job-ended'
  /** A code this build does not know. */
  | 'unknown';

const LOCAL_CODES = [
  'NO_GITHUB_TOKEN',
  'INSECURE_TRANSPORT',
  'UNREACHABLE',
  'SESSION_FAILED',
] as const satisfies readonly WorkerAuthErrorCode[];
type LocalCode = (typeof LOCAL_CODES)[number];
export type KnownCode = ErrorCode | LocalCode;
// Every WorkerAuthErrorCode is known: a new one that is neither local nor the worker's fails to compile here.
const everyAuthCodeKnown: Exclude<WorkerAuthErrorCode, KnownCode> extends never ? true : never = true;
void everyAuthCodeKnown;

export function isKnownCode(code: unknown): code is KnownCode {
  return isErrorCode(code) || (LOCAL_CODES as readonly unknown[]).includes(code);
}

export function remedyFor(code: string | undefined): Remedy {
  return isKnownCode(code) ? remedyOfKnown(code) : 'unknown';
}

function remedyOfKnown(code: KnownCode): Remedy {
  switch (code) {
    case 'NO_GITHUB_TOKEN':
    case 'GITHUB_TOKEN_REFUSED':
      return 'github-sign-in';
    case 'UNAUTHORIZED':
    case 'SESSION_FAILED':
      return 'worker-credential';
    case 'INSECURE_TRANSPORT':
      return 'transport';
    case 'MISDIRECTED':
    case 'UNREACHABLE':
    case 'NOT_FOUND':
      return 'settings';
    case 'RATE_LIMITED':
    case 'QUOTA_EXCEEDED':
    case 'QUEUE_FULL':
    case 'QUEUE_UNAVAILABLE':
    case 'DRAINING':
    case 'SANDBOX_UNAVAILABLE':
    case 'GITHUB_UNAVAILABLE':
    case 'TOO_MANY_STREAMS':
    case 'INTERNAL':
      return 'wait';
    case 'FORBIDDEN':
    case 'FORBIDDEN_BRANCH':
    case 'REPO_NOT_ALLOWED':
    case 'CREDENTIALS_FAILED':
    case 'BAD_SIGNATURE':
    case 'BOT':
    case 'NO_CREDENTIAL':
      return 'access';
    case 'BAD_REQUEST':
    case 'PAYLOAD_TOO_LARGE':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'PR_MISMATCH':
    case 'PR_CLOSED':
    case 'FORK':
    case 'IDEMPOTENCY_CONFLICT':
      return 'fix-request';
    case 'CANCELLED':
    case 'TIMED_OUT':
    case 'INTERRUPTED':
    case 'INVALID_RECORD':
    case 'NO_CHANGES':
    case 'PR_CHANGED':
    case 'BUDGET_EXCEEDED':
    case 'LOCK_LOST':
    case 'CHECKOUT_FAILED':
    case 'SANDBOX_FAILED':
    case 'PUSH_FAILED':
    case 'PUSH_CONFLICT':
    case 'MEMORY_LIMIT':
    case 'PROCESS_LIMIT':
    case 'DISK_LIMIT':
    case 'OUTPUT_LIMIT':
    case 'AGENT_NOT_FOUND':
    case 'AGENT_SPAWN_FAILED':
    case 'AGENT_FAILED':
    case 'AGENT_CRASHED':
    case 'AGENT_SILENT':
    case 'AGENT_MCP_FAILED':
    case 'AGENT_CONFIG_NOT_FOUND':
    case 'AGENT_AUTH_FAILED':
    case 'AGENT_INPUT_ERROR':
    case 'AGENT_CONFIG_ERROR':
    case 'AGENT_TURN_LIMIT':
      return 'job-ended';
    default:
      return code satisfies never;
  }
}
