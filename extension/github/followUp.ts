// A follow-up on a delegated PR: one more `## Follow-up N` section appended to TASK.md on
// the PR's branch (shared/taskCommit.ts: one commit, retried if the branch moved).
import { appendFollowUp } from '../../shared/taskMarkdown.js';
import { BranchMissingError, commitTaskRound, type TaskRoundCommit } from '../../shared/taskCommit.js';
import type { GitHubClient } from './client.js';
import { DelegateError } from './errors.js';

export interface FollowUpInput {
  owner: string;
  repo: string;
  branch: string;
  title: string;
  instructions: string;
}

export type FollowUpCommit = TaskRoundCommit;

export async function commitFollowUp(input: FollowUpInput, deps: { client: GitHubClient; now?: () => Date }): Promise<FollowUpCommit> {
  if (!input.instructions.trim()) throw new DelegateError('INVALID_INPUT', 'the follow-up has no instructions', 'instructions');
  const at = (deps.now ?? (() => new Date()))();
  try {
    return await commitTaskRound({ ...input, edit: (current) => appendFollowUp(current, input.instructions, at) }, (q, v) =>
      deps.client.graphql(q, v),
    );
  } catch (e) {
    if (e instanceof BranchMissingError) throw new DelegateError('BRANCH_MISSING', e.message);
    throw e;
  }
}
