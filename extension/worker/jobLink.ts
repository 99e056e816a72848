// vscode://kiro-delegate.kiro-delegate/job/<id>: the link GitHub's Kiro check run and summary
// comment carry (through vscode.dev/redirect), opening that job's agent terminal. Plain
// TypeScript: which job a link names, and which delegation (or round) it belongs to.
import type { Delegation } from '../delegations/model.js';

/** The job id a link's path names, or undefined (another path, or an id the worker never makes). */
export function jobIdFromLinkPath(path: string): string | undefined {
  const m = /^\/job\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path);
  return m?.[1];
}

/** The delegation whose current job or one of whose rounds is `jobId`, as a terminal target for that job. */
export function delegationOfJob(all: readonly Delegation[], jobId: string): Delegation | undefined {
  const d = all.find((x) => x.jobId === jobId || (x.rounds ?? []).some((r) => r.jobId === jobId));
  return d && { ...d, jobId };
}
