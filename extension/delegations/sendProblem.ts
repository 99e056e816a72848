// What the user is told when a delegation's job was not taken by the worker, and
// what they may do about it (plain: the notification glue only shows it). A limit
// the worker set (429 QUOTA_EXCEEDED) is said in the worker's words with when to
// try again, and offers no Retry: retrying before then can only be refused again.
import type { SubmitOutcome } from '../worker/client.js';

export type SendProblem = Exclude<SubmitOutcome, { kind: 'accepted' }> | { kind: 'no-worker'; message: string };

export type SendAction = 'Retry' | 'Set Worker Token' | 'Sign in to GitHub' | 'Set GitHub Token' | 'Open Settings';

/** "in 45 s", "in 5 min", "in 2 h": how long until the worker takes more. */
export function waitWords(seconds: number): string {
  if (seconds < 60) return `in ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `in ${Math.round(seconds / 60)} min`;
  return `in ${Math.round(seconds / 360) / 10} h`;
}

/** The delegation's `problem` line (the view, the tooltip): the outcome's message, and for a limit, when it clears. */
export function problemText(outcome: SendProblem): string {
  if (outcome.kind !== 'quota') return outcome.message;
  return outcome.retryAfterSeconds === undefined ? outcome.message : `${outcome.message} (try again ${waitWords(outcome.retryAfterSeconds)})`;
}

export function sendProblemView(prNumber: number, outcome: SendProblem): { message: string; actions: SendAction[] } {
  const created = `Kiro: PR #${prNumber} was created`;
  switch (outcome.kind) {
    case 'quota': {
      const when = outcome.retryAfterSeconds === undefined ? 'once one of your jobs ends' : waitWords(outcome.retryAfterSeconds);
      return { message: `${created}, but the worker did not start it: ${outcome.message} You can send it again ${when} with "Retry Sending" on the delegation.`, actions: [] };
    }
    case 'unauthorized': {
      const github = outcome.code === 'NO_GITHUB_TOKEN' || outcome.code === 'GITHUB_TOKEN_REFUSED';
      const actions: SendAction[] = github ? ['Sign in to GitHub', 'Set GitHub Token'] : outcome.code === 'INSECURE_TRANSPORT' ? ['Retry', 'Open Settings'] : ['Set Worker Token', 'Open Settings'];
      return { message: `${created}, but the job was not sent. ${outcome.message}`, actions };
    }
    case 'rejected':
      // A 4xx is the worker's decision about this request: sending it again unchanged gets the same answer.
      return { message: `${created}, but the worker refused the job: ${outcome.message}`, actions: outcome.status >= 500 ? ['Retry', 'Open Settings'] : ['Open Settings'] };
    case 'busy':
    case 'unreachable':
      return { message: `${created}, but the job did not reach the worker. ${outcome.message}`, actions: ['Retry', 'Set Worker Token', 'Open Settings'] };
    case 'no-worker':
      return { message: `${created}, but the job did not reach the worker. ${outcome.message}`, actions: ['Open Settings'] };
    default: {
      const never: never = outcome;
      return never;
    }
  }
}
