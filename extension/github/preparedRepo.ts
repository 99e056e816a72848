// The preparing query's answer, asked ahead of a submit (prefetch.ts) and used by
// createPr.ts in place of its first round trip while it is fresh.

/** Which repository and base branch a preparing answer is about. */
export interface RepoKey {
  owner: string;
  repo: string;
  baseBranch: string;
}

/** The preparing query's answer, minus the candidate branch (its name is only made at submit). */
export interface PreparedRepo extends RepoKey {
  repositoryId: string;
  viewerLogin?: string;
  viewerPermission: string | null;
  /** The base branch's head when asked: the new branch starts there. */
  baseOid: string;
  /** When the query was sent (ms, the clock of CreatePrDeps.now). */
  fetchedAt: number;
}

/** A prepared answer older than this is asked again at submit. */
export const PREPARED_MAX_AGE_MS = 60_000;

/** Whether `prepared` may stand in for the query at `now`: same repository (names are case-insensitive) and base, at most `maxAgeMs` old. */
export function isPreparedFresh(
  prepared: PreparedRepo | undefined,
  key: RepoKey,
  now: number,
  maxAgeMs = PREPARED_MAX_AGE_MS,
): prepared is PreparedRepo {
  if (!prepared) return false;
  const age = now - prepared.fetchedAt;
  return (
    prepared.owner.toLowerCase() === key.owner.toLowerCase() &&
    prepared.repo.toLowerCase() === key.repo.toLowerCase() &&
    prepared.baseBranch === key.baseBranch &&
    age >= 0 &&
    age <= maxAgeMs
  );
}
