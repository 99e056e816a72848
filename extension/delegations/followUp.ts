// Another round on the same PR: the instructions go into TASK.md on the branch
// (a `## Follow-up N` section, one commit), then a new job for the same branch
// and PR with a new idempotency key. The worker runs one job per branch at a
// time, so a round sent while the previous one runs starts from its result.
import type { GitHubClient } from '../github/client.js';
import { commitFollowUp } from '../github/followUp.js';
import { DelegateError } from '../github/errors.js';
import { sendToWorker, type DelegateDeps } from './delegate.js';
import type { Delegation } from './model.js';

export type FollowUpDeps = Pick<DelegateDeps, 'worker' | 'store' | 'log' | 'onSendProblem' | 'onQueuedLocally' | 'sleep'> & {
  github: GitHubClient;
  now?: () => Date;
};

export interface FollowedUp {
  delegation: Delegation;
  round: number;
  sending: Promise<void>;
}

export async function sendFollowUp(d: Delegation, instructions: string, deps: FollowUpDeps): Promise<FollowedUp> {
  if (d.state === 'closed')
    throw new DelegateError('INVALID_INPUT', `PR #${d.prNumber} is ${d.merged ? 'merged' : 'closed'}: delegate a new task instead`);
  if (d.state === 'creating') throw new DelegateError('INVALID_INPUT', `PR #${d.prNumber} is still being created`);
  // A delegation started elsewhere (listed by the worker) does not know its base branch: the PR says it.
  let base = { baseBranch: d.baseBranch || d.job.baseBranch, draft: d.job.draft };
  if (!base.baseBranch) {
    const pr = await deps.github.rest.pulls.get({ owner: d.owner, repo: d.repo, pull_number: d.prNumber });
    base = { baseBranch: pr.data.base.ref, draft: pr.data.draft ?? false };
  }
  const commit = await commitFollowUp(
    { owner: d.owner, repo: d.repo, branch: d.branch, title: d.title, instructions },
    { client: deps.github, now: deps.now },
  );
  const round = commit.round + 1;
  const job = {
    ...d.job,
    baseBranch: base.baseBranch,
    ...(base.draft !== undefined ? { draft: base.draft } : {}),
    taskDescription: commit.taskMarkdown,
    idempotencyKey: `${d.id}-R${round}`,
  };
  // The round that ends here is recorded as it ended; the new one's live state is the delegation's own.
  const history = d.rounds ?? [{ round: 1, taskCommitOid: d.taskCommitOid, state: d.state }];
  const rounds = [
    ...history.map((r, i) => (i === history.length - 1 ? { ...r, jobId: d.jobId, state: d.state, headOid: d.headOid } : r)),
    { round, taskCommitOid: commit.taskCommitOid, state: 'queued' as const },
  ];
  const updated = await deps.store.patch(d.id, {
    // The next "pushed" is measured against this round's TASK.md commit.
    state: 'queued',
    job,
    baseBranch: base.baseBranch,
    jobId: undefined,
    jobState: undefined,
    position: undefined,
    startedAt: undefined,
    usage: undefined,
    taskCommitOid: commit.taskCommitOid,
    headOid: commit.taskCommitOid,
    refEtag: undefined,
    round,
    rounds,
    notified: false,
    problem: undefined,
    sendFailed: false,
  });
  if (!updated) throw new DelegateError('INVALID_INPUT', 'the delegation is gone');
  deps.log?.(`follow-up ${commit.round} on PR #${d.prNumber} committed (${commit.taskCommitOid.slice(0, 12)}); sending round ${round}`);
  return { delegation: updated, round, sending: sendToWorker(updated, deps) };
}
