// What a `/kiro` comment, a `/kiro` review or a `kiro` issue starts: the same checks as a
// request from VS Code (write permission, the branch rule, the PR's head and base, quotas,
// audit — identity/guard.ts, with the commenter as the caller), then TASK.md on the branch
// (a new round, or a new branch and draft PR for an issue), then the job, queued like any.
// Who may not gets nothing on GitHub (the refusal is audited); a bot only if allowed.
import { appendFollowUp } from '../../shared/taskMarkdown.js';
import type { ErrorCode } from '../../shared/errorCodes.js';
import type { GenerateCodeRequest } from '../../shared/protocol.js';
import { STEER_PERMISSIONS, type CredentialSource } from '../github/credentials.js';
import { atLeast } from '../identity/access.js';
import type { Asker, Guard } from '../identity/guard.js';
import type { GitHubFacts } from '../identity/githubFacts.js';
import { WorkerError } from '../errors.js';
import type { JobService } from '../queue/service.js';
import type { Feedback } from './feedback.js';
import { describe, SteeringGitHub } from './github.js';
import type { SteeredJob, SteeringStore } from './store.js';
import { commentRound, issueTask, reviewRound } from './taskText.js';
import { mentionsCommand, withoutCommand, type Trigger } from './triggers.js';

export interface SteeringDeps {
  apiUrl: string;
  branchPrefix: string;
  allowedBots: readonly string[];
  credentials: CredentialSource;
  facts: GitHubFacts;
  guard: Guard;
  jobs: JobService;
  store: SteeringStore;
  feedback: Feedback;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => number;
}

export type Outcome =
  { kind: 'queued'; jobId: string } | { kind: 'refused'; code: ErrorCode; why: string } | { kind: 'ignored'; why: string };

const TITLE = /^[^\u0000-\u001f\u007f]{1,256}$/;
const oneLineTitle = (t: string) =>
  t
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, 256) || 'Kiro task';

/** `<prefix><slug>-<ms>`: the issue's title in lower-case words, at most 40 characters. */
export function issueBranch(prefix: string, number: number, title: string, ms: number): string {
  const slug = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${prefix}${slug || `issue-${number}`}-${ms}`;
}

export class Steering {
  constructor(private readonly deps: SteeringDeps) {}

  async handle(deliveryId: string, trigger: Trigger, ip: string): Promise<Outcome> {
    const { deps } = this;
    const { owner, repo, actor } = trigger;
    const asker: Asker = { caller: { kind: 'user', login: actor.login }, id: deliveryId, ip };
    const refuse = async (code: ErrorCode, why: string): Promise<Outcome> => {
      await deps.guard.record(asker, 'submit', { outcome: 'refused', code, owner, repo, prNumber: trigger.number });
      deps.log.info(
        { deliveryId, login: actor.login, repo: `${owner}/${repo}`, number: trigger.number, code },
        `webhook: nothing done (${why})`,
      );
      return { kind: 'refused', code, why };
    };
    if (actor.bot && !deps.allowedBots.includes(actor.login.toLowerCase()))
      return refuse('BOT', `${actor.login} is a bot, not listed in KIRO_ALLOWED_BOTS`);
    let permission;
    try {
      permission = await deps.facts.permission(owner, repo, actor.login);
    } catch (e) {
      return refuse('GITHUB_UNAVAILABLE', `could not ask GitHub for ${actor.login}'s permission: ${describe(e)}`);
    }
    if (!atLeast(permission, 'write')) return refuse('FORBIDDEN', `${actor.login} may not write to ${owner}/${repo} (${permission})`);
    const cred = await deps.credentials.forRepository(owner, repo, STEER_PERMISSIONS);
    try {
      if (!cred.token) return refuse('NO_CREDENTIAL', 'the worker has no GitHub credential');
      const gh = new SteeringGitHub(deps.apiUrl, cred.token, owner, repo);
      try {
        return trigger.kind === 'issue'
          ? await this.issue(deliveryId, trigger, asker, gh, cred.kind === 'app')
          : await this.round(deliveryId, trigger, asker, gh, cred.kind === 'app');
      } catch (e) {
        if (WorkerError.is(e)) return refuse(e.code, e.message);
        // Someone allowed asked, and the worker failed them: they see 😕 (the log says why).
        deps.log.warn(
          { deliveryId, repo: `${owner}/${repo}`, number: trigger.number, err: describe(e) },
          'webhook: the round could not be started',
        );
        const target =
          trigger.kind === 'pr-comment'
            ? { kind: 'issue-comment' as const, id: trigger.commentId }
            : trigger.kind === 'issue'
              ? trigger.reactTo
              : undefined;
        if (target) await deps.feedback.react(gh, { jobId: deliveryId, reactTo: [target] }, 'confused');
        return { kind: 'refused', code: 'INTERNAL', why: describe(e) };
      }
    } finally {
      await cred.release();
    }
  }

  /** A new round on a Kiro branch's open pull request (a comment, or a review). */
  private async round(
    deliveryId: string,
    t: Extract<Trigger, { kind: 'pr-comment' | 'review' }>,
    asker: Asker,
    gh: SteeringGitHub,
    app: boolean,
  ): Promise<Outcome> {
    const { deps } = this;
    const pr = await gh.pull(t.number);
    if (pr.headRepo !== `${t.owner}/${t.repo}`.toLowerCase())
      throw new WorkerError('FORK', `pull request #${t.number} comes from a fork: the agent works only on this repository's branches`, 403);
    if (pr.state !== 'open') throw new WorkerError('PR_CLOSED', `pull request #${t.number} is closed`, 409);
    if (!pr.headRef.startsWith(deps.branchPrefix))
      return { kind: 'ignored', why: `${pr.headRef} is not a Kiro branch (${deps.branchPrefix}…)` };
    let text: string;
    let reactTo: SteeredJob['reactTo'];
    let threads: SteeredJob['threads'] = [];
    if (t.kind === 'pr-comment') {
      text = commentRound(t.actor.login, t.url, t.instructions);
      reactTo = [{ kind: 'issue-comment', id: t.commentId }];
    } else {
      const asked = (await gh.reviewComments(t.number, t.reviewId)).filter((c) => mentionsCommand(c.body));
      if (!mentionsCommand(t.body) && asked.length === 0) return { kind: 'ignored', why: 'the review does not say /kiro' };
      text = reviewRound(
        t.actor.login,
        t.url,
        withoutCommand(t.body),
        asked.map((c) => ({ ...c, body: withoutCommand(c.body) })),
      );
      reactTo = asked.map((c) => ({ kind: 'review-comment' as const, id: c.id }));
      threads = asked.map((c) => ({ commentId: c.id, url: c.url }));
    }
    const title = TITLE.test(pr.title) ? pr.title : oneLineTitle(pr.title);
    const body: GenerateCodeRequest = {
      owner: t.owner,
      repo: t.repo,
      branch: pr.headRef,
      prNumber: t.number,
      baseBranch: pr.baseRef,
      title,
      taskDescription: '(the round is being written)',
      idempotencyKey: `gh-${deliveryId}`,
      requestedBy: t.actor.login,
      draft: pr.draft,
    };
    const { request, release } = await deps.guard.admit(asker, body);
    try {
      const at = new Date((deps.now ?? Date.now)());
      const commit = await gh.commitRound({
        owner: t.owner,
        repo: t.repo,
        branch: pr.headRef,
        title,
        edit: (current) => appendFollowUp(current, text, at),
      });
      return await this.queue(deliveryId, t, asker, gh, app, { ...request, taskDescription: commit.taskMarkdown }, commit.taskCommitOid, {
        reactTo,
        threads,
        delegatedBy: pr.author && pr.author.toLowerCase() !== t.actor.login.toLowerCase() ? pr.author : null,
      });
    } finally {
      release();
    }
  }

  /** An issue handed to the agent: a branch, its TASK.md and a draft PR that fixes the issue, then the job. */
  private async issue(
    deliveryId: string,
    t: Extract<Trigger, { kind: 'issue' }>,
    asker: Asker,
    gh: SteeringGitHub,
    app: boolean,
  ): Promise<Outcome> {
    const { deps } = this;
    // Quotas first: nothing is made on GitHub for a job that could not be queued.
    const release = await deps.guard.reserveQuota(t.actor.login);
    try {
      const title = oneLineTitle(t.title || `Issue #${t.number}`);
      const branch = issueBranch(deps.branchPrefix, t.number, title, (deps.now ?? Date.now)());
      const task = issueTask({ number: t.number, title, body: t.body, url: t.url }, t.actor.login, t.instructions);
      const prBody = [
        `Fixes #${t.number}`,
        '',
        `@${t.actor.login} handed this issue to Kiro on GitHub; the agent's work follows on \`${branch}\`, its task in \`TASK.md\`. Comment \`/kiro <instructions>\` here for another round.`,
      ].join('\n');
      const pr = await gh.openPull(branch, task, title, prBody);
      const body: GenerateCodeRequest = {
        owner: t.owner,
        repo: t.repo,
        branch,
        prNumber: pr.number,
        baseBranch: pr.baseBranch,
        title,
        taskDescription: task,
        idempotencyKey: `gh-${deliveryId}`,
        requestedBy: t.actor.login,
        draft: true,
      };
      const { request, release: done } = await deps.guard.admit(asker, body, { quotaHeld: true });
      try {
        return await this.queue(deliveryId, { ...t, number: pr.number }, asker, gh, app, request, pr.headSha, {
          reactTo: [t.reactTo],
          threads: [],
          delegatedBy: null,
        });
      } finally {
        done();
      }
    } finally {
      release();
    }
  }

  private async queue(
    deliveryId: string,
    t: Trigger,
    asker: Asker,
    gh: SteeringGitHub,
    app: boolean,
    request: GenerateCodeRequest,
    sha: string,
    rest: Pick<SteeredJob, 'reactTo' | 'threads' | 'delegatedBy'>,
  ): Promise<Outcome> {
    const { deps } = this;
    const { status } = await deps.jobs.submit(request);
    const steered: SteeredJob = {
      jobId: status.jobId,
      deliveryId,
      kind: t.kind,
      owner: request.owner,
      repo: request.repo,
      prNumber: request.prNumber,
      login: t.actor.login,
      check: null,
      startedTold: false,
      finishedTold: false,
      createdAt: (deps.now ?? Date.now)(),
      ...rest,
    };
    await deps.store.save(steered);
    await deps.guard.record(asker, 'submit', {
      outcome: 'ok',
      owner: request.owner,
      repo: request.repo,
      branch: request.branch,
      prNumber: request.prNumber,
      jobId: status.jobId,
    });
    deps.log.info(
      {
        deliveryId,
        jobId: status.jobId,
        repo: `${request.owner}/${request.repo}`,
        prNumber: request.prNumber,
        login: t.actor.login,
        kind: t.kind,
      },
      'webhook: round queued',
    );
    await deps.feedback.accepted(steered, gh, app, sha);
    return { kind: 'queued', jobId: status.jobId };
  }
}
