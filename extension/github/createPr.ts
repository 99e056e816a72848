// Creates the delegation's pull request in two round trips to GitHub:
//   1. one query: repository id, the base branch's head, the user's permission,
//      and whether the candidate branch name is taken;
//   2. one mutation document: createRef (the new branch at the base head),
//      createCommitOnBranch (TASK.md, expectedHeadOid = base head) and
//      createPullRequest.
// With a fresh answer to the query asked while the form was open (`prepared`, see
// prefetch.ts), only the mutation runs: one round trip. That answer cannot say
// whether the candidate name (made now, with a timestamp) is taken; a taken name
// makes our createRef fail and is handled below like any collision.
// GraphQL runs every mutation of a document even when an earlier one fails, so
// the outcome is checked field by field. The branch is ours only if our createRef
// succeeded; a TASK.md commit that reached a branch we did not create means its
// creator's own commit failed (expectedHeadOid), and that creator deletes it. A PR
// we opened on such a branch is closed at once; a branch we created whose commit
// or PR failed is deleted. Then we try again with a random suffix: nothing of ours
// is left behind on a branch that is not ours, and no orphan branch remains.
import { makeBranchName, randomSuffix } from '../../shared/branch.js';
import { confirmationCode as makeCode } from '../../shared/confirmation.js';
import { isValidBranchName, isValidOwner, isValidRepo } from '../../shared/names.js';
import { renderTaskMarkdown, type TaskFields } from '../../shared/taskMarkdown.js';
import type { GitHubClient } from './client.js';
import { webUrlOf } from './urls.js';
import { DelegateError } from './errors.js';
import { DELEGATE, PREPARE, undoDocument, type DelegateData, type PrepareData } from './createPrQueries.js';
import { errorFor, graphqlParts, isNameCollision, type GqlError } from './graphqlErrors.js';
import { blobUrl, prBody } from './prBody.js';
import { isPreparedFresh, type PreparedRepo, type RepoKey } from './preparedRepo.js';
import { recover } from './recoverPr.js';

export interface CreatePrInput {
  owner: string;
  repo: string;
  baseBranch: string;
  prTitle: string;
  task: TaskFields;
  branchPrefix?: string;
  draft?: boolean;
  /** GitHub's web address for links in the PR body (https://github.com, or the Enterprise URL); default: derived from the client's API URL. */
  webUrl?: string;
}

export interface CreatedPr {
  prUrl: string;
  number: number;
  branchName: string;
  confirmationCode: string;
  taskCommitOid: string;
  baseOid: string;
  /** Who created it (the token's user): the worker asks them to review when the agent is done. */
  viewerLogin?: string;
  /** GitHub round trips this took (2 when nothing collided). */
  roundTrips: number;
}

export interface CreatePrDeps {
  client: GitHubClient;
  now?: () => number;
  suffix?: () => string;
  log?: (message: string) => void;
  /** The preparing query's answer, asked ahead (prefetch.ts): used when fresh and for this repository and base; else the query runs. */
  prepared?: PreparedRepo;
  /** How old `prepared` may be; default PREPARED_MAX_AGE_MS. */
  maxPreparedAgeMs?: number;
}

const WRITE = new Set(['ADMIN', 'MAINTAIN', 'WRITE']);
const MAX_ATTEMPTS = 5;

function checkKey(key: RepoKey): void {
  if (!isValidOwner(key.owner)) throw new DelegateError('INVALID_INPUT', `"${key.owner}" is not a valid GitHub owner`, 'owner');
  if (!isValidRepo(key.repo)) throw new DelegateError('INVALID_INPUT', `"${key.repo}" is not a valid repository name`, 'repo');
  if (!isValidBranchName(key.baseBranch))
    throw new DelegateError('INVALID_INPUT', `"${key.baseBranch}" is not a valid branch name`, 'baseBranch');
}

/**
 * The preparing query (one round trip). With `candidate`, it also says whether that
 * branch name is taken. Throws a DelegateError when the repository or the base is missing.
 */
async function ask(
  client: GitHubClient,
  key: RepoKey,
  fetchedAt: number,
  candidate?: string,
): Promise<{ prepared: PreparedRepo; candidateTaken: boolean }> {
  let prep: PrepareData;
  try {
    prep = await client.graphql<PrepareData>(PREPARE, {
      owner: key.owner,
      name: key.repo,
      base: `refs/heads/${key.baseBranch}`,
      candidate: `refs/heads/${candidate ?? ''}`,
      withCandidate: candidate !== undefined,
    });
  } catch (e) {
    const { errors, status } = graphqlParts(e);
    if (errors?.some((er) => er.type === 'NOT_FOUND'))
      throw new DelegateError(
        'REPO_NOT_FOUND',
        `Repository ${key.owner}/${key.repo} was not found, or your GitHub account cannot see it.`,
        'repo',
      );
    if (status === 401) throw new DelegateError('NOT_SIGNED_IN', 'GitHub refused the sign-in token. Sign in to GitHub again.');
    throw new DelegateError('GITHUB_ERROR', `GitHub could not be asked about ${key.owner}/${key.repo}: ${(e as Error).message}`);
  }
  const repository = prep.repository;
  if (!repository)
    throw new DelegateError(
      'REPO_NOT_FOUND',
      `Repository ${key.owner}/${key.repo} was not found, or your GitHub account cannot see it.`,
      'repo',
    );
  if (!repository.base)
    throw new DelegateError('BASE_BRANCH_MISSING', `Branch "${key.baseBranch}" does not exist in ${key.owner}/${key.repo}.`, 'baseBranch');
  return {
    prepared: {
      owner: key.owner,
      repo: key.repo,
      baseBranch: key.baseBranch,
      repositoryId: repository.id,
      viewerLogin: prep.viewer?.login,
      viewerPermission: repository.viewerPermission,
      baseOid: repository.base.target.oid,
      fetchedAt,
    },
    candidateTaken: Boolean(repository.candidate),
  };
}

/** The preparing query asked ahead of a submit (the form's prefetch): one round trip, answer stamped with `now()` at sending. */
export async function prepareRepo(client: GitHubClient, key: RepoKey, now: () => number = Date.now): Promise<PreparedRepo> {
  checkKey(key);
  return (await ask(client, key, now())).prepared;
}

export async function createDelegationPr(input: CreatePrInput, deps: CreatePrDeps): Promise<CreatedPr> {
  const { client } = deps;
  const now = deps.now ?? Date.now;
  const suffix = deps.suffix ?? (() => randomSuffix());
  checkKey(input);

  const timestamp = now();
  const code = makeCode(timestamp);
  const task: TaskFields = { ...input.task, confirmationCode: code };
  const nameOf = (sfx?: string) => makeBranchName({ name: input.task.title, timestamp, prefix: input.branchPrefix, suffix: sfx });
  let branch = nameOf();
  let roundTrips = 0;

  // Round trip 1, unless the form asked it already. A prepared answer that denies
  // writing is not trusted to refuse (access may have been granted since): it is asked again.
  // The base branch may have moved since the prepared answer (at most a minute ago): the
  // new branch still starts at the head seen then, and is not re-read, which would cost
  // the round trip saved. The agent works from that commit; the PR, based on the branch,
  // shows the base's newer commits as GitHub does for any PR whose base moves on.
  let prepared: PreparedRepo;
  if (isPreparedFresh(deps.prepared, input, timestamp, deps.maxPreparedAgeMs) && WRITE.has(deps.prepared.viewerPermission ?? '')) {
    prepared = deps.prepared;
  } else {
    roundTrips++;
    const asked = await ask(client, input, timestamp, branch);
    prepared = asked.prepared;
    if (asked.candidateTaken) branch = nameOf(suffix());
  }
  if (!WRITE.has(prepared.viewerPermission ?? '')) {
    throw new DelegateError(
      'NO_WRITE_PERMISSION',
      `Your GitHub account cannot push to ${input.owner}/${input.repo} (permission: ${prepared.viewerPermission ?? 'none'}). Ask for write access, or delegate on a fork.`,
      'repo',
    );
  }
  const { baseOid, repositoryId, viewerLogin } = prepared;

  const markdown = renderTaskMarkdown(task);
  const webUrl = input.webUrl ?? webUrlOf(client.request.endpoint.DEFAULTS.baseUrl);
  const bodyFor = (head: string) => prBody(task, code, blobUrl(webUrl, input.owner, input.repo, head, 'TASK.md'));
  const variablesFor = (head: string) => ({
    repositoryId,
    ref: `refs/heads/${head}`,
    oid: baseOid,
    branch: { repositoryNameWithOwner: `${input.owner}/${input.repo}`, branchName: head },
    // `task:`, not `feat:`: the agent's commit that follows is the feature.
    message: { headline: `task: ${input.task.title}`.slice(0, 250), body: `Delegated with Kiro Delegate (confirmation code ${code}).` },
    changes: { additions: [{ path: 'TASK.md', contents: Buffer.from(markdown, 'utf8').toString('base64') }] },
    base: input.baseBranch,
    head,
    title: input.prTitle,
    body: bodyFor(head),
    draft: input.draft ?? false,
  });

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let data: DelegateData | undefined;
    let errors: GqlError[] | undefined;
    try {
      roundTrips++;
      // Never replayed blindly: a retried mutation could meet its own branch and take it for someone else's.
      data = await client.graphql<DelegateData>(DELEGATE, { ...variablesFor(branch), request: { retries: 0 } });
    } catch (e) {
      const parts = graphqlParts(e);
      if (parts.data || parts.errors) {
        data = parts.data as DelegateData | undefined;
        errors = parts.errors;
      } else {
        // Transport failure: the mutation may or may not have run. Look before trying again.
        deps.log?.(`GitHub did not answer the mutation (${(e as Error).message}); checking what happened`);
        roundTrips++;
        const recovered = await recover(client, input, branch, code, bodyFor(branch));
        if (recovered === 'free') continue;
        if (recovered === 'taken') {
          branch = nameOf(suffix());
          continue;
        }
        return {
          ...recovered,
          branchName: branch,
          confirmationCode: code,
          baseOid,
          viewerLogin,
          roundTrips: roundTrips + (recovered.extraTrips ?? 0),
        };
      }
    }
    const refId = data?.createRef?.ref?.id ?? null;
    const commitOid = data?.createCommitOnBranch?.commit?.oid ?? null;
    const pr = data?.createPullRequest?.pullRequest ?? null;
    if (refId && commitOid && pr) {
      return {
        prUrl: pr.url,
        number: pr.number,
        branchName: branch,
        confirmationCode: code,
        taskCommitOid: commitOid,
        baseOid,
        viewerLogin,
        roundTrips,
      };
    }
    // Something failed: undo whatever of ours acted, then decide whether a new name helps.
    const undo = undoDocument({ pr: pr?.id, ref: refId ?? undefined });
    if (undo) {
      roundTrips++;
      await client
        .graphql(undo.query, undo.variables)
        .catch((e: unknown) => deps.log?.(`clean-up after a failed attempt did not complete: ${(e as Error).message}`));
    }
    const refError = errorFor(errors, 'createRef');
    const collided = isNameCollision(errors);
    if (!collided && refError?.type === 'FORBIDDEN') {
      // Write access was lost since the preparing answer (or while the document ran).
      throw new DelegateError(
        'NO_WRITE_PERMISSION',
        `Your GitHub account cannot push to ${input.owner}/${input.repo}: ${refError.message}. Ask for write access, or delegate on a fork.`,
        'repo',
      );
    }
    if (!collided) {
      const detail = (errors ?? []).map((er) => er.message).join('; ') || 'unknown error';
      throw new DelegateError('GITHUB_ERROR', `GitHub did not create the pull request: ${detail}`);
    }
    deps.log?.(`branch ${branch} collided with another; trying a new name`);
    branch = nameOf(suffix());
  }
  throw new DelegateError('BRANCH_COLLISIONS', `Could not find a free branch name after ${MAX_ATTEMPTS} attempts; try again.`);
}
