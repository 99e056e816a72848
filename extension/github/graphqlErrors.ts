// GitHub's error answers, read without trusting their shape, and the one place that
// knows what a branch-name collision looks like.

/** One entry of a GraphQL answer's `errors` (GitHub puts `type` beside the message). */
export interface GqlError {
  type?: string;
  path?: (string | number)[];
  message: string;
}

/** A REST error body (`{ message, documentation_url, status }`). */
export interface RestErrorBody {
  message: string;
  status?: string;
}

/** What a GraphqlResponseError (or any Octokit error) carries, read without trusting its shape. */
export function graphqlParts(e: unknown): { data?: unknown; errors?: GqlError[]; status?: number } {
  const x = e as { data?: unknown; errors?: GqlError[]; status?: number; name?: string };
  return {
    data: x?.data,
    errors: Array.isArray(x?.errors) ? x.errors : undefined,
    status: typeof x?.status === 'number' ? x.status : undefined,
  };
}

/** The error of one top-level field of the document (`createRef`, …). */
export function errorFor(errors: readonly GqlError[] | undefined, field: string): GqlError | undefined {
  return errors?.find((er) => er.path?.[0] === field);
}

const EXISTS = /already exists/i;
const MOVED = /expected branch to point|already exists/i;

/**
 * Whether the branch name was taken: GraphQL's `errors` of the delegation document, or a
 * REST error body (POST …/git/refs answers 422 "Reference already exists"). GitHub gives no
 * code of its own for this (UNPROCESSABLE and STALE_DATA cover much else), so its words are
 * the only signal: "A ref named … already exists" on createRef; or, when createRef did not
 * fail, another writer's commit on the branch (STALE_DATA "Expected branch to point to …")
 * or its open PR ("A pull request already exists for …") on the fields after it.
 */
export function isNameCollision(errors: readonly GqlError[] | RestErrorBody | undefined): boolean {
  if (!errors) return false;
  if (!Array.isArray(errors)) return EXISTS.test((errors as RestErrorBody).message ?? '');
  const list = errors as readonly GqlError[];
  const refError = errorFor(list, 'createRef');
  if (refError) return EXISTS.test(refError.message);
  return MOVED.test([errorFor(list, 'createCommitOnBranch')?.message, errorFor(list, 'createPullRequest')?.message].join(' '));
}
