// What the delegation form needs to propose a base branch: the repository's default
// branch, and whether the workspace's branch exists on GitHub. One small query, made
// when the form opens (the PR's own two round trips are unchanged).
import type { BaseBranchFacts } from '../../shared/baseBranch.js';
import type { GitHubClient } from './client.js';

const QUERY = `query KiroBaseBranches($owner: String!, $name: String!, $current: String!, $withCurrent: Boolean!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    current: ref(qualifiedName: $current) @include(if: $withCurrent) { name }
  }
}`;

export async function lookupBaseBranches(
  client: GitHubClient,
  owner: string,
  repo: string,
  currentBranch?: string,
): Promise<Pick<BaseBranchFacts, 'defaultBranch' | 'currentOnRemote'>> {
  const res = await client.graphql<{ repository: { defaultBranchRef: { name: string } | null; current?: { name: string } | null } | null }>(
    QUERY,
    {
      owner,
      name: repo,
      current: `refs/heads/${currentBranch ?? ''}`,
      withCurrent: Boolean(currentBranch),
    },
  );
  const r = res.repository;
  return { defaultBranch: r?.defaultBranchRef?.name ?? null, currentOnRemote: currentBranch ? Boolean(r?.current) : undefined };
}
