// What the user is told when a delegation's job was not taken by the worker, and
// what they may do about it (plain: the notification glue only shows it). A limit
// the worker set (429 QUOTA_EXCEEDED) is said in the worker's words with when to
// try again, and offers no Retry: retrying before then can only be refused again.
import type { SubmitOutcome } from '../worker/client.js';
import { remedyFor } from '../worker/errorRemedy.js';

export type SendProblem = Exclude<SubmitOutcome, { kind: 'accepted' }> | { kind: 'no-worker'; message: string };

/** What the user may do about a send problem, by id; the notification matches the pick on the id, the title is only shown. */
export const SEND_ACTIONS = {
  retry: 'Retry',
  setWorkerToken: 'Set Worker Token',
  signInToGitHub: 'Sign in to GitHub',
  setGitHubToken: 'Set GitHub Token',
  openSettings: 'Open Settings',
} as const;
export type SendActionId = keyof typeof SEND_ACTIONS;
export type SendAction = (typeof SEND_ACTIONS)[SendActionId];

/** "in 45 s", "in 5 min", "in 2 h": how long until the worker takes more. */
export function waitWords(seconds: number): string {
  if (seconds < 60) return `in ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `in ${Math.round(seconds / 60)} min`;
  return `in ${Math.round(seconds / 360) / 10} h`;
}

/** The delegation's `problem` line (the view, the tooltip): the outcome's message, and for a limit, when it clears. */
export function problemText(outcome: SendProblem): string {
  if (outcome.kind !== 'quota') return outcome.message;
  return outcome.retryAfterSeconds === undefined
    ? outcome.message
    : `${outcome.message} (try again ${waitWords(outcome.retryAfterSeconds)})`;
}

/** The notification: its message, and its actions as titles (`actions`) and as ids (`actionIds`, the same order). */
export function sendProblemView(
  prNumber: number,
  outcome: SendProblem,
): { message: string; actions: SendAction[]; actionIds: SendActionId[] } {
  const { message, actionIds } = viewOf(prNumber, outcome);
  return { message, actions: actionIds.map((id) => SEND_ACTIONS[id]), actionIds };
}

function viewOf(prNumber: number, outcome: SendProblem): { message: string; actionIds: SendActionId[] } {
  const created = `Kiro: PR #${prNumber} was created`;
  switch (outcome.kind) {
    case 'quota': {
      const when = outcome.retryAfterSeconds === undefined ? 'once one of your jobs ends' : waitWords(outcome.retryAfterSeconds);
      return {
        message: `${created}, but the worker did not start it: ${outcome.message} You can send it again ${when} with "Retry Sending" on the delegation.`,
        actionIds: [],
      };
    }
    case 'unauthorized': {
      // A 401's code says which credential; any other (a code from a newer worker included) offers the worker token.
      const remedy = remedyFor(outcome.code);
      const actionIds: SendActionId[] =
        remedy === 'github-sign-in'
          ? ['signInToGitHub', 'setGitHubToken']
          : remedy === 'transport'
            ? ['retry', 'openSettings']
            : ['setWorkerToken', 'openSettings'];
      return { message: `${created}, but the job was not sent. ${outcome.message}`, actionIds };
    }
    case 'rejected':
      // A 4xx is the worker's decision about this request: sending it again unchanged gets the same answer.
      return {
        message: `${created}, but the worker refused the job: ${outcome.message}`,
        actionIds: outcome.status >= 500 ? ['retry', 'openSettings'] : ['openSettings'],
      };
    case 'busy':
    case 'unreachable':
      return {
        message: `${created}, but the job did not reach the worker. ${outcome.message}`,
        actionIds: ['retry', 'setWorkerToken', 'openSettings'],
      };
    case 'no-worker':
      return { message: `${created}, but the job did not reach the worker. ${outcome.message}`, actionIds: ['openSettings'] };
    default: {
      const never: never = outcome;
      return never;
    }
  }
}
