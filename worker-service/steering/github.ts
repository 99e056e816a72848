// The GitHub calls of steering work, with a token of the worker's own (an App token with
// STEER_PERMISSIONS, or KIRO_GITHUB_TOKEN), each bounded in time. Answers are checked like
// request bodies before they are used.
import { Octokit } from '@octokit/core';
import { RequestError } from '@octokit/request-error';
import { commitTaskRound, type TaskRoundCommit, type TaskRoundInput } from '../../shared/taskCommit.js';
import type { ReviewComment } from './taskText.js';
import type { ReactionTarget } from './triggers.js';

const REQUEST_TIMEOUT_MS = 10_000;
const request = () => ({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

export type Reaction = 'eyes' | 'rocket' | 'confused';

export interface PullInfo {
  title: string;
  state: 'open' | 'closed';
  headRef: string;
  headSha: string;
  /** `owner/name`, lower case; null: the fork was deleted. */
  headRepo: string | null;
  baseRef: string;
  defaultBranch: string;
  draft: boolean;
  /** The PR's author when a person: who delegated it (their Delegations view shows its rounds). */
  author: string | null;
}

export type CheckConclusion = 'success' | 'neutral' | 'failure' | 'cancelled';
export interface CheckOutput {
  title: string;
  summary: string;
}

export function describe(e: unknown): string {
  if (e instanceof RequestError) return `${e.status} ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class SteeringGitHub {
  private readonly octokit: Octokit;

  constructor(
    apiUrl: string,
    token: string,
    private readonly owner: string,
    private readonly repo: string,
  ) {
    this.octokit = new Octokit({ baseUrl: apiUrl, auth: token, userAgent: 'kiro-delegate-worker' });
  }

  async pull(number: number): Promise<PullInfo> {
    const { data } = await this.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
      owner: this.owner,
      repo: this.repo,
      pull_number: number,
      request: request(),
    });
    const d = obj(data);
    const head = obj(d.head);
    const base = obj(d.base);
    const user = obj(d.user);
    const headRepo = head.repo === null ? null : str(obj(head.repo).full_name)?.toLowerCase();
    const info = {
      title: str(d.title),
      state: d.state === 'open' ? ('open' as const) : d.state === 'closed' ? ('closed' as const) : undefined,
      headRef: str(head.ref),
      headSha: str(head.sha),
      baseRef: str(base.ref),
      defaultBranch: str(obj(base.repo).default_branch),
    };
    if (
      !info.title ||
      !info.state ||
      !info.headRef ||
      !info.headSha ||
      !/^[0-9a-f]{40}$/.test(info.headSha) ||
      !info.baseRef ||
      !info.defaultBranch ||
      headRepo === undefined
    ) {
      throw new Error(`GitHub answered pull request #${number} without its state, head or base`);
    }
    const login = str(user.login);
    return {
      ...info,
      title: info.title,
      state: info.state,
      headRef: info.headRef,
      headSha: info.headSha,
      baseRef: info.baseRef,
      defaultBranch: info.defaultBranch,
      headRepo,
      draft: d.draft === true,
      author: user.type === 'User' && login ? login : null,
    };
  }

  /** A review's inline comments (at most 300: three pages). */
  async reviewComments(number: number, reviewId: number): Promise<ReviewComment[]> {
    const out: ReviewComment[] = [];
    for (let page = 1; page <= 3; page++) {
      const { data } = await this.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments', {
        owner: this.owner,
        repo: this.repo,
        pull_number: number,
        review_id: reviewId,
        per_page: 100,
        page,
        request: request(),
      });
      const list = Array.isArray(data) ? data : [];
      for (const c of list.map(obj)) {
        const id = c.id;
        const path = str(c.path);
        const url = str(c.html_url);
        if (!Number.isSafeInteger(id) || !path || !url) continue;
        const line = Number.isSafeInteger(c.line) ? (c.line as number) : null;
        out.push({ id: id as number, path, line, diffHunk: str(c.diff_hunk) ?? '', body: str(c.body) ?? '', url });
      }
      if (list.length < 100) break;
    }
    return out;
  }

  async react(target: ReactionTarget, content: Reaction): Promise<void> {
    const base = { owner: this.owner, repo: this.repo, content, request: request() };
    if (target.kind === 'issue')
      await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', { ...base, issue_number: target.id });
    else if (target.kind === 'issue-comment')
      await this.octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { ...base, comment_id: target.id });
    else await this.octokit.request('POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions', { ...base, comment_id: target.id });
  }

  async reply(number: number, commentId: number, body: string): Promise<void> {
    await this.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies', {
      owner: this.owner,
      repo: this.repo,
      pull_number: number,
      comment_id: commentId,
      body,
      request: request(),
    });
  }

  async createCheckRun(headSha: string, detailsUrl: string, externalId: string): Promise<number> {
    const { data } = await this.octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner: this.owner,
      repo: this.repo,
      name: 'Kiro',
      head_sha: headSha,
      status: 'queued',
      details_url: detailsUrl,
      external_id: externalId,
      request: request(),
    });
    const id = obj(data).id;
    if (!Number.isSafeInteger(id)) throw new Error('GitHub answered a check run without its id');
    return id as number;
  }

  async updateCheckRun(
    id: number,
    change: { status: 'in_progress' } | { status: 'completed'; conclusion: CheckConclusion; output: CheckOutput },
  ): Promise<void> {
    await this.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      owner: this.owner,
      repo: this.repo,
      check_run_id: id,
      ...change,
      ...(change.status === 'completed' ? { completed_at: new Date().toISOString() } : {}),
      request: request(),
    });
  }

  /** A completed check run on a commit that came after the run's own (the agent's push). */
  async completedCheckRun(
    headSha: string,
    detailsUrl: string,
    externalId: string,
    conclusion: CheckConclusion,
    output: CheckOutput,
  ): Promise<void> {
    await this.octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner: this.owner,
      repo: this.repo,
      name: 'Kiro',
      head_sha: headSha,
      status: 'completed',
      conclusion,
      details_url: detailsUrl,
      external_id: externalId,
      completed_at: new Date().toISOString(),
      output,
      request: request(),
    });
  }

  async status(sha: string, state: 'pending' | 'success' | 'failure' | 'error', description: string, targetUrl: string): Promise<void> {
    await this.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
      owner: this.owner,
      repo: this.repo,
      sha,
      state,
      context: 'Kiro',
      description: description.slice(0, 140),
      target_url: targetUrl,
      request: request(),
    });
  }

  /** One more round in TASK.md on the branch (shared/taskCommit.ts). */
  commitRound(input: TaskRoundInput): Promise<TaskRoundCommit> {
    return commitTaskRound(input, (query, variables) =>
      this.octokit.graphql(query, { ...variables, request: { ...obj(variables.request), ...request() } }),
    );
  }

  /** A new branch from the default branch's head, its TASK.md, and a draft pull request: its number and head. */
  async openPull(
    branch: string,
    taskMarkdown: string,
    title: string,
    body: string,
  ): Promise<{ number: number; baseBranch: string; headSha: string }> {
    const { data: repoData } = await this.octokit.request('GET /repos/{owner}/{repo}', {
      owner: this.owner,
      repo: this.repo,
      request: request(),
    });
    const baseBranch = str(obj(repoData).default_branch);
    if (!baseBranch) throw new Error('GitHub answered the repository without its default branch');
    const { data: ref } = await this.octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
      owner: this.owner,
      repo: this.repo,
      ref: `heads/${baseBranch}`,
      request: request(),
    });
    const baseSha = str(obj(obj(ref).object).sha);
    if (!baseSha) throw new Error(`GitHub answered the branch ${baseBranch} without its head`);
    await this.octokit.request('POST /repos/{owner}/{repo}/git/refs', {
      owner: this.owner,
      repo: this.repo,
      ref: `refs/heads/${branch}`,
      sha: baseSha,
      request: request(),
    });
    const { data: put } = await this.octokit.request('PUT /repos/{owner}/{repo}/contents/{path}', {
      owner: this.owner,
      repo: this.repo,
      path: 'TASK.md',
      branch,
      message: `task: ${title}`.slice(0, 200),
      content: Buffer.from(taskMarkdown, 'utf8').toString('base64'),
      request: request(),
    });
    const headSha = str(obj(obj(put).commit).sha);
    const { data: pr } = await this.octokit.request('POST /repos/{owner}/{repo}/pulls', {
      owner: this.owner,
      repo: this.repo,
      title,
      body,
      head: branch,
      base: baseBranch,
      draft: true,
      request: request(),
    });
    const number = obj(pr).number;
    if (!Number.isSafeInteger(number) || !headSha) throw new Error('GitHub answered the new pull request without its number');
    return { number: number as number, baseBranch, headSha };
  }
}
