// After a createPr mutation whose answer was lost: finds out whether the branch is free,
// someone else's, or ours (then finishes the pull request, if it is not there yet).
import type { GitHubClient } from './client.js';
import { FINISH, RECOVER, REPO_ID, type FinishData, type RecoverData, type RepoIdData } from './createPrQueries.js';

/** Where the pull request goes (a CreatePrInput's fields). */
interface PrTarget {
  owner: string;
  repo: string;
  baseBranch: string;
  prTitle: string;
  draft?: boolean;
}

type Recovered = 'free' | 'taken' | { prUrl: string; number: number; taskCommitOid: string; extraTrips?: number };

/** After a mutation whose answer was lost: is the branch free, someone else's, or ours (then finish the PR)? */
export async function recover(client: GitHubClient, input: PrTarget, branch: string, code: string, body: string): Promise<Recovered> {
  const res = await client.graphql<RecoverData>(RECOVER, { owner: input.owner, name: input.repo, candidate: `refs/heads/${branch}` });
  const ref = res.repository.ref;
  if (!ref) return 'free';
  // Without our commit it is someone else's, or ours stopped half-way (a branch still at
  // the base); the two cannot be told apart, so it is left alone and a new name is used.
  if (!ref.target.message.includes(code)) return 'taken';
  const open = ref.associatedPullRequests.nodes[0];
  if (open) return { prUrl: open.url, number: open.number, taskCommitOid: ref.target.oid };
  const created = await client.graphql<FinishData>(FINISH, {
    repositoryId: await repoId(client, input),
    base: input.baseBranch,
    head: branch,
    title: input.prTitle,
    body,
    draft: input.draft ?? false,
  });
  return {
    prUrl: created.createPullRequest.pullRequest.url,
    number: created.createPullRequest.pullRequest.number,
    taskCommitOid: ref.target.oid,
    extraTrips: 2,
  };
}

async function repoId(client: GitHubClient, input: PrTarget): Promise<string> {
  const r = await client.graphql<RepoIdData>(REPO_ID, { o: input.owner, n: input.repo });
  return r.repository.id;
}
