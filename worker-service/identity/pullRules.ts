// Which pushes a request may ask for, whoever asks: only to a branch under the worker's
// prefix that is not the repository's default, and only as the head of an open pull
// request of the same repository (no forks) onto the base the request names.
import type { GenerateCodeRequest } from '../../shared/protocol.js';
import { WorkerError } from '../errors.js';
import type { PullFacts } from './githubFacts.js';

export function branchRefusal(branch: string, prefix: string): WorkerError | null {
  if (prefix && !(branch.startsWith(prefix) && branch.length > prefix.length)) {
    return new WorkerError(
      'FORBIDDEN_BRANCH',
      `this worker pushes only to branches starting with "${prefix}" (KIRO_BRANCH_PREFIX); ${branch} is not one`,
      403,
      'branch',
    );
  }
  return null;
}

export function pullRefusal(
  request: Pick<GenerateCodeRequest, 'owner' | 'repo' | 'branch' | 'baseBranch' | 'prNumber'>,
  pr: PullFacts | null,
): WorkerError | null {
  const { owner, repo, branch, baseBranch, prNumber } = request;
  const where = `${owner}/${repo}`;
  if (!pr) return new WorkerError('PR_MISMATCH', `${where} has no pull request #${prNumber}`, 409, 'prNumber');
  if (branch === pr.defaultBranch)
    return new WorkerError('FORBIDDEN_BRANCH', `${branch} is the default branch of ${where}: the agent never pushes to it`, 403, 'branch');
  if (pr.state !== 'open')
    return new WorkerError('PR_MISMATCH', `pull request #${prNumber} of ${where} is closed; reopen it or delegate again`, 409, 'prNumber');
  if (pr.headRepo !== where.toLowerCase())
    return new WorkerError(
      'PR_MISMATCH',
      `pull request #${prNumber} comes from another repository (a fork): the worker pushes only to branches of ${where}`,
      409,
      'prNumber',
    );
  if (pr.head !== branch)
    return new WorkerError('PR_MISMATCH', `pull request #${prNumber} of ${where} has the head ${pr.head}, not ${branch}`, 409, 'branch');
  if (pr.base !== baseBranch)
    return new WorkerError('PR_MISMATCH', `pull request #${prNumber} of ${where} targets ${pr.base}, not ${baseBranch}`, 409, 'baseBranch');
  return null;
}
