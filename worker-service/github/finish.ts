// After the agent's push: a draft pull request is marked ready for review
// (GraphQL markPullRequestReadyForReview) and the delegating user is asked for a
// review (REST requested_reviewers), with the job's own credential. Best effort:
// every step that fails is reported in the outcome, never thrown, so the job that
// already pushed stays `succeeded`.
import { Octokit } from '@octokit/core';
import { RequestError } from '@octokit/request-error';
import type { Job } from '../jobs/job.js';

export interface FinishOutcome {
  /** marked: it was a draft and is now ready; not-draft: nothing to do; skipped: not asked or not possible. */
  readyForReview: 'marked' | 'not-draft' | 'skipped' | 'failed';
  /** requested: the login was asked; author: GitHub refuses a review request to the PR's own author. */
  review: 'requested' | 'author' | 'not-asked' | 'skipped' | 'failed';
  /** Why a step was skipped or failed (GitHub's answer, never a token). */
  warnings: string[];
}

export type PrFinisher = (job: Job, token: string | undefined) => Promise<FinishOutcome>;

const PR_QUERY = `query KiroPullRequest($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) { pullRequest(number: $number) { id isDraft state author { login } } }
}`;
const READY = `mutation KiroReadyForReview($id: ID!) {
  markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } }
}`;

interface PrInfo {
  repository: {
    pullRequest: { id: string; isDraft: boolean; state: 'OPEN' | 'CLOSED' | 'MERGED'; author: { login: string } | null } | null;
  } | null;
}

/** No GitHub call may hold the job's credential (revoked after these) for longer. */
const REQUEST_TIMEOUT_MS = 30_000;

function describe(e: unknown): string {
  // A RequestError's message is GitHub's answer; its request (with the Authorization header) never is.
  if (e instanceof RequestError) return `${e.status} ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The finisher for a GitHub API at `apiUrl` (https://api.github.com, or
 * https://<host>/api/v3 on Enterprise: Octokit's graphql then posts to
 * https://<host>/api/graphql, the rule of graphqlUrl in extension/github/client.ts).
 */
export function githubFinisher(apiUrl: string): PrFinisher {
  return async (job, token) => {
    const out: FinishOutcome = { readyForReview: 'skipped', review: job.request.requestedBy ? 'skipped' : 'not-asked', warnings: [] };
    const { owner, repo, prNumber, requestedBy, draft } = job.request;
    if (job.state !== 'succeeded' || !job.commitSha) return out;
    if (!token) {
      if (draft || requestedBy) out.warnings.push('no GitHub credential: the pull request is left as it is');
      return out;
    }
    // The request says it is no draft and nobody is to be asked: nothing to do, nothing to ask GitHub.
    if (draft === false && !requestedBy) return { ...out, readyForReview: 'not-draft' };

    const octokit = new Octokit({ baseUrl: apiUrl, auth: token, userAgent: 'kiro-delegate-worker' });
    const request = () => ({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    let pr: NonNullable<NonNullable<PrInfo['repository']>['pullRequest']>;
    try {
      const data = await octokit.graphql<PrInfo>(PR_QUERY, { owner, repo, number: prNumber, request: request() });
      const found = data.repository?.pullRequest;
      if (!found) throw new Error(`no pull request #${prNumber}`);
      pr = found;
    } catch (e) {
      out.readyForReview = 'failed';
      if (requestedBy) out.review = 'failed';
      out.warnings.push(`could not look up pull request #${prNumber}: ${describe(e)}`);
      return out;
    }
    if (pr.state !== 'OPEN') {
      out.warnings.push(`pull request #${prNumber} is ${pr.state.toLowerCase()}: left as it is`);
      return out;
    }

    if (!pr.isDraft) out.readyForReview = 'not-draft';
    else {
      try {
        await octokit.graphql(READY, { id: pr.id, request: request() });
        out.readyForReview = 'marked';
      } catch (e) {
        out.readyForReview = 'failed';
        out.warnings.push(`could not mark pull request #${prNumber} ready for review: ${describe(e)}`);
      }
    }

    if (!requestedBy) return out;
    if (pr.author && pr.author.login.toLowerCase() === requestedBy.toLowerCase()) {
      // GitHub answers 422 "Review cannot be requested from pull request author"; the author hears of the push anyway.
      out.review = 'author';
      return out;
    }
    try {
      await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
        owner,
        repo,
        pull_number: prNumber,
        reviewers: [requestedBy],
        request: request(),
      });
      out.review = 'requested';
    } catch (e) {
      out.review = 'failed';
      out.warnings.push(`could not request a review from ${requestedBy} on pull request #${prNumber}: ${describe(e)}`);
    }
    return out;
  };
}
