// The last check before a job's push, asked of GitHub again (not from the cache): its pull
// request is still open with the job's branch as its head and base, and in github mode its
// requester may still write. Anything else, and nothing is pushed.
import type { WorkerConfig } from '../config.js';
import { WorkerError } from '../errors.js';
import { atLeast } from '../identity/access.js';
import type { GitHubFacts } from '../identity/githubFacts.js';
import type { Job } from '../jobs/job.js';

/** Closed, or its head moved to another branch or repository, while the agent worked: nothing is pushed. */
export async function prStillOpen(facts: GitHubFacts | undefined, identityMode: WorkerConfig['identity']['mode'], job: Job): Promise<void> {
  if (!facts?.available) return;
  const { owner, repo, branch, prNumber } = job.request;
  let pr;
  try {
    pr = await facts.pull(owner, repo, prNumber, true);
  } catch (e) {
    throw new WorkerError('PUSH_FAILED', `could not check pull request #${prNumber} before pushing: ${(e as Error).message}`, 502);
  }
  const why = !pr
    ? 'no longer exists'
    : pr.state !== 'open'
      ? 'was closed'
      : pr.headRepo !== `${owner}/${repo}`.toLowerCase() || pr.head !== branch
        ? `now has the head ${pr.head}`
        : pr.base !== job.request.baseBranch
          ? `now targets ${pr.base}`
          : branch === pr.defaultBranch
            ? `has the default branch as its head`
            : null;
  if (why) throw new WorkerError('PR_CHANGED', `pull request #${prNumber} ${why} while the agent worked: nothing was pushed`, 409);
  // github mode: the requester must still be allowed to write (asked again, not from the cache).
  const login = job.request.requestedBy;
  if (identityMode !== 'github' || !login) return;
  let permission;
  try {
    permission = await facts.permission(owner, repo, login, true);
  } catch (e) {
    throw new WorkerError('PUSH_FAILED', `could not check ${login}'s permission before pushing: ${(e as Error).message}`, 502);
  }
  if (!atLeast(permission, 'write'))
    throw new WorkerError('FORBIDDEN', `${login} may no longer write to ${owner}/${repo}: nothing was pushed`, 403);
}
