// The stand-in's webhook: what a person does on GitHub (comment, review, open or label an
// issue) is recorded and delivered, as GitHub delivers it, to the configured URL: signed
// (X-Hub-Signature-256), with X-GitHub-Event and a GUID in X-GitHub-Delivery (the same on
// redelivery), within GitHub's 10-second limit. Payloads start from the community's real
// examples (@octokit/webhooks-examples) with this stand-in's objects in them, and each is
// validated against @octokit/webhooks-schemas before it is sent.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { Webhooks } from '@octokit/webhooks';
import type { Model, PullRequest, Repo, User } from './model.js';
import { simpleUser, type Urls } from './restShapes.js';
import { addIssue, hunkAt, steeringOf, type Issue, type ReviewComment } from './steeringModel.js';
import { reviewCommentUrl } from './steeringShapes.js';

const require = createRequire(import.meta.url);
// The schema and example files are untyped JSON walked generically.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- untyped JSON documents
const SCHEMA = require('@octokit/webhooks-schemas') as Json;
const EXAMPLES = require('@octokit/webhooks-examples') as { name: string; examples: Json[] }[];

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(SCHEMA, 'webhooks');
const validators = new Map<string, ValidateFunction>();

export class PayloadSchemaError extends Error {}

/** A schema node with its $ref followed (into the webhook schemas' definitions). */
function resolve(node: Json): Json {
  let n = node;
  while (n && typeof n.$ref === 'string') n = SCHEMA.definitions[n.$ref.replace('#/definitions/', '')] ?? {};
  return n ?? {};
}

/** The plainest value a schema allows: null where it may be null, else false, 0, '', the first enum value, [] or {} (filled in turn). */
function plainest(node: Json): unknown {
  const n = resolve(node);
  const alts: Json[] = n.oneOf ?? n.anyOf ?? [];
  if (alts.some((a) => resolve(a).type === 'null') || (Array.isArray(n.type) && n.type.includes('null')) || n.type === 'null') return null;
  if (Array.isArray(n.enum)) return n.enum[0];
  if (n.allOf) return fillRequired(n, {});
  if (alts.length) return plainest(alts[0] as Json);
  const type = Array.isArray(n.type) ? n.type[0] : n.type;
  if (type === 'boolean') return false;
  if (type === 'integer' || type === 'number') return 0;
  if (type === 'string') return n.format === 'uri' ? 'https://example.invalid/' : n.format === 'date-time' ? '2024-01-01T00:00:00Z' : '';
  if (type === 'array') return [];
  return fillRequired(n, {});
}

/**
 * The community's examples predate some fields the schemas now require (reactions,
 * is_template, topics…): each required field an object lacks gets the plainest value its
 * schema allows, recursively. Fields the example or the stand-in set are never changed.
 */
function fillRequired(node: Json, value: Json): Json {
  const n = resolve(node);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  for (const part of n.allOf ?? []) fillRequired(part as Json, value);
  const props: Json = n.properties ?? {};
  for (const key of n.required ?? []) if (!(key in value)) value[key] = plainest(props[key] ?? {});
  for (const [key, sub] of Object.entries(props)) {
    const v = value[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const options = [resolve(sub as Json), ...((resolve(sub as Json).oneOf ?? resolve(sub as Json).anyOf ?? []) as Json[]).map(resolve)];
      const target = options.find((o) => o.properties || o.allOf);
      if (target) fillRequired(target, v);
    }
  }
  return value;
}

/** Throws unless the payload is what @octokit/webhooks-schemas says `event.action` sends. */
export function assertPayloadMatches(event: string, payload: Json): void {
  const key = `${event}$${String(payload.action)}`;
  let v = validators.get(key);
  if (!v) {
    if (!SCHEMA.definitions[key]) throw new PayloadSchemaError(`no webhook schema for ${key}`);
    v = ajv.compile({ $ref: `webhooks#/definitions/${key}` });
    validators.set(key, v);
  }
  if (!v(payload))
    throw new PayloadSchemaError(
      `${key} payload does not match the webhook schema: ${(v.errors ?? [])
        .slice(0, 5)
        .map((e) => `${e.instancePath || '/'} ${e.message}`)
        .join('; ')}`,
    );
}

function example(event: string, action: string): Json {
  const found = EXAMPLES.find((e) => e.name === event)?.examples.find((x) => x.action === action);
  if (!found) throw new Error(`no example payload for ${event}.${action}`);
  return structuredClone(found);
}

export interface Delivery {
  id: string;
  event: string;
  action: string;
  body: string;
  /** The receiver's answer (0: no answer: refused, timed out). */
  status: number;
  answer: string;
  sentAt: number;
  answeredAt: number;
}

export interface CommentMade {
  id: number;
  url: string;
  delivery: Delivery;
}

export class StandInWebhooks {
  private hook: { url: string; secret: string; signer: Webhooks } | undefined;
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly model: Model,
    private readonly urls: () => Urls,
  ) {}

  /** Where deliveries go, and the secret they are signed with. */
  set(url: string, secret: string): void {
    this.hook = { url, secret, signer: new Webhooks({ secret }) };
  }

  private repo(owner: string, name: string): Repo {
    const r = this.model.repo(owner, name);
    if (!r) throw new Error(`no repository ${owner}/${name}`);
    return r;
  }

  private user(login: string): User {
    const u = this.model.users.get(login);
    if (!u) throw new Error(`no user ${login}`);
    return u;
  }

  private userJson(login: string): Json {
    return simpleUser(this.urls(), this.user(login));
  }

  private repoJson(repo: Repo): Json {
    const { api, web } = this.urls();
    const base = example('issue_comment', 'created').repository as Json;
    const url = `${api}/repos/${repo.owner}/${repo.name}`;
    return {
      ...base,
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      private: repo.private,
      owner: this.userJson(repo.owner),
      html_url: `${web}/${repo.owner}/${repo.name}`,
      url,
      default_branch: repo.defaultBranch,
      fork: false,
      visibility: repo.private ? 'private' : 'public',
      clone_url: `${web}/${repo.owner}/${repo.name}.git`,
    };
  }

  /** What every delivery carries: the repository, who did it, and the App's installation if one covers it. */
  private common(repo: Repo, sender: string): Json {
    const inst = [...this.model.installations.values()].find((i) => this.model.covers(i, repo));
    return {
      repository: this.repoJson(repo),
      sender: this.userJson(sender),
      ...(inst ? { installation: { id: inst.id, node_id: `MDIz_${inst.id}` } } : {}),
    };
  }

  private issueJson(repo: Repo, number: number, pr: PullRequest | undefined, issue: Issue | undefined): Json {
    const { api, web } = this.urls();
    const base = example('issue_comment', 'created').issue as Json;
    const kind = pr ? 'pull' : 'issues';
    const url = `${api}/repos/${repo.owner}/${repo.name}/issues/${number}`;
    return {
      ...base,
      url,
      repository_url: `${api}/repos/${repo.owner}/${repo.name}`,
      html_url: `${web}/${repo.owner}/${repo.name}/${kind}/${number}`,
      id: pr?.id ?? issue?.id ?? number,
      node_id: `I_${number}`,
      number,
      title: pr?.title ?? issue?.title ?? '',
      body: (pr?.body ?? issue?.body) || null,
      user: this.userJson(pr?.author ?? issue?.author ?? repo.owner),
      state: pr?.state ?? issue?.state ?? 'open',
      labels: (issue?.labels ?? []).map((n, i) => this.labelJson(repo, n, i)),
      assignee: null,
      assignees: [],
      milestone: null,
      comments: 0,
      locked: false,
      closed_at: null,
      ...(pr
        ? {
            pull_request: {
              url: `${api}/repos/${repo.owner}/${repo.name}/pulls/${number}`,
              html_url: `${web}/${repo.owner}/${repo.name}/pull/${number}`,
              diff_url: `${web}/${repo.owner}/${repo.name}/pull/${number}.diff`,
              patch_url: `${web}/${repo.owner}/${repo.name}/pull/${number}.patch`,
              merged_at: null,
            },
          }
        : {}),
    };
  }

  private labelJson(repo: Repo, name: string, i: number): Json {
    const { api } = this.urls();
    return {
      id: 9000 + i,
      node_id: `LA_${i}`,
      url: `${api}/repos/${repo.owner}/${repo.name}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'ededed',
      default: false,
      description: null,
    };
  }

  private async pullJson(repo: Repo, pr: PullRequest): Promise<Json> {
    const { api, web } = this.urls();
    const base = example('pull_request_review', 'submitted').pull_request as Json;
    const headRepo = pr.headRepo ? this.model.repo(...(pr.headRepo.split('/') as [string, string])) : repo;
    const headSha = (await (headRepo ?? repo).bare.resolve(`refs/heads/${pr.head}`)) ?? '0'.repeat(40);
    const baseSha = (await repo.bare.resolve(`refs/heads/${pr.base}`)) ?? '0'.repeat(40);
    const side = (r: Repo, ref: string, sha: string) => ({
      label: `${r.owner}:${ref}`,
      ref,
      sha,
      user: this.userJson(r.owner),
      repo: this.repoJson(r),
    });
    const url = `${api}/repos/${repo.owner}/${repo.name}/pulls/${pr.number}`;
    return {
      ...base,
      url,
      id: pr.id,
      node_id: `PR_${pr.id}`,
      html_url: `${web}/${repo.owner}/${repo.name}/pull/${pr.number}`,
      number: pr.number,
      state: pr.state,
      title: pr.title,
      body: pr.body || null,
      user: this.userJson(pr.author),
      draft: pr.draft,
      head: side(headRepo ?? repo, pr.head, headSha),
      base: side(repo, pr.base, baseSha),
      created_at: pr.createdAt,
      updated_at: pr.updatedAt,
      closed_at: pr.closedAt,
      merged_at: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      labels: [],
      milestone: null,
    };
  }

  private reviewCommentJson(repo: Repo, c: ReviewComment): Json {
    const { api } = this.urls();
    const base = example('pull_request_review_comment', 'created').comment as Json;
    const html = reviewCommentUrl(this.urls(), repo, c);
    return {
      ...base,
      url: `${api}/repos/${repo.owner}/${repo.name}/pulls/comments/${c.id}`,
      pull_request_review_id: c.reviewId,
      id: c.id,
      node_id: `PRRC_${c.id}`,
      diff_hunk: c.diffHunk,
      path: c.path,
      position: c.line,
      original_position: c.line,
      commit_id: c.commitId,
      original_commit_id: c.commitId,
      user: this.userJson(c.author),
      body: c.body,
      created_at: c.createdAt,
      updated_at: c.createdAt,
      html_url: html,
      pull_request_url: `${api}/repos/${repo.owner}/${repo.name}/pulls/${c.pullNumber}`,
      line: c.line,
      original_line: c.line,
      start_line: null,
      original_start_line: null,
      side: 'RIGHT',
      start_side: null,
      subject_type: 'line',
      _links: {
        self: { href: `${api}/repos/${repo.owner}/${repo.name}/pulls/comments/${c.id}` },
        html: { href: html },
        pull_request: { href: `${api}/repos/${repo.owner}/${repo.name}/pulls/${c.pullNumber}` },
      },
    };
  }

  /** Sends (or re-sends) a delivery and waits for the answer, as GitHub does (10 s at most). */
  private async send(d: Omit<Delivery, 'status' | 'answer' | 'sentAt' | 'answeredAt'>): Promise<Delivery> {
    const hook = this.hook;
    if (!hook) throw new Error('no webhook set: call gh.webhooks.set(url, secret) first');
    const out: Delivery = { ...d, status: 0, answer: '', sentAt: Date.now(), answeredAt: 0 };
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body: d.body,
        signal: AbortSignal.timeout(10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/stand-in',
          'x-github-event': d.event,
          'x-github-delivery': d.id,
          'x-github-hook-id': '1',
          'x-hub-signature-256': await hook.signer.sign(d.body),
        },
      });
      out.status = res.status;
      out.answer = await res.text();
    } catch (e) {
      out.answer = (e as Error).message;
    }
    out.answeredAt = Date.now();
    this.deliveries.push(out);
    return out;
  }

  private deliver(event: string, payload: Json): Promise<Delivery> {
    fillRequired(SCHEMA.definitions[`${event}$${String(payload.action)}`] ?? {}, payload);
    assertPayloadMatches(event, payload);
    return this.send({ id: randomUUID(), event, action: String(payload.action), body: JSON.stringify(payload) });
  }

  /** The same delivery again (same GUID, same body), as the "Redeliver" button sends it. */
  redeliver(id: string): Promise<Delivery> {
    const first = this.deliveries.find((d) => d.id === id);
    if (!first) throw new Error(`no delivery ${id}`);
    return this.send({ id: first.id, event: first.event, action: first.action, body: first.body });
  }

  /** A comment on a pull request or an issue (issue_comment.created). */
  async comment(owner: string, name: string, number: number, login: string, body: string): Promise<CommentMade> {
    const repo = this.repo(owner, name);
    const pr = repo.pulls.find((p) => p.number === number);
    const issue = steeringOf(repo).issues.find((i) => i.number === number);
    if (!pr && !issue) throw new Error(`no pull request or issue #${number}`);
    const c = { id: this.model.nextId(), issueNumber: number, body, author: this.user(login).login, createdAt: new Date().toISOString() };
    repo.comments.push(c);
    const { api, web } = this.urls();
    const url = `${web}/${owner}/${name}/${pr ? 'pull' : 'issues'}/${number}#issuecomment-${c.id}`;
    const comment = {
      ...example('issue_comment', 'created').comment,
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/repos/${owner}/${name}/issues/comments/${c.id}`,
      html_url: url,
      issue_url: `${api}/repos/${owner}/${name}/issues/${number}`,
      user: this.userJson(login),
      body,
      created_at: c.createdAt,
      updated_at: c.createdAt,
      author_association: 'COLLABORATOR',
    };
    const delivery = await this.deliver('issue_comment', {
      action: 'created',
      issue: this.issueJson(repo, number, pr, issue),
      comment,
      ...this.common(repo, login),
    });
    return { id: c.id, url, delivery };
  }

  /**
   * A review with inline comments, as GitHub sends it: one pull_request_review_comment.created
   * per inline comment, then one pull_request_review.submitted. Each comment's hunk is the
   * file's diff between the PR's base and head at its line.
   */
  async submitReview(
    owner: string,
    name: string,
    number: number,
    login: string,
    review: { body: string; event?: 'COMMENT' | 'APPROVE' | 'REQUEST_CHANGES'; comments?: { path: string; line: number; body: string }[] },
  ): Promise<{ reviewId: number; comments: { id: number; url: string }[]; deliveries: Delivery[] }> {
    const repo = this.repo(owner, name);
    const pr = repo.pulls.find((p) => p.number === number);
    if (!pr) throw new Error(`no pull request #${number}`);
    const state = steeringOf(repo);
    const headSha = (await repo.bare.resolve(`refs/heads/${pr.head}`)) ?? '';
    const reviewId = this.model.nextId();
    const kind = review.event === 'APPROVE' ? 'APPROVED' : review.event === 'REQUEST_CHANGES' ? 'CHANGES_REQUESTED' : 'COMMENTED';
    state.reviews.push({
      id: reviewId,
      pullNumber: number,
      body: review.body,
      author: login,
      state: kind,
      commitId: headSha,
      submittedAt: new Date().toISOString(),
    });
    const deliveries: Delivery[] = [];
    const made: { id: number; url: string }[] = [];
    const pullJson = await this.pullJson(repo, pr);
    for (const c of review.comments ?? []) {
      const head = (await repo.bare.readFile(`refs/heads/${pr.head}`, c.path)) ?? '';
      const base = (await repo.bare.readFile(`refs/heads/${pr.base}`, c.path)) ?? '';
      const rc: ReviewComment = {
        id: this.model.nextId(),
        pullNumber: number,
        reviewId,
        path: c.path,
        line: c.line,
        body: c.body,
        author: login,
        diffHunk: hunkAt(base, head, c.path, c.line),
        commitId: headSha,
        createdAt: new Date().toISOString(),
      };
      state.reviewComments.push(rc);
      made.push({ id: rc.id, url: reviewCommentUrl(this.urls(), repo, rc) });
      deliveries.push(
        await this.deliver('pull_request_review_comment', {
          action: 'created',
          comment: this.reviewCommentJson(repo, rc),
          pull_request: pullJson,
          ...this.common(repo, login),
        }),
      );
    }
    const { api, web } = this.urls();
    const html = `${web}/${owner}/${name}/pull/${number}#pullrequestreview-${reviewId}`;
    const reviewJson = {
      ...example('pull_request_review', 'submitted').review,
      id: reviewId,
      node_id: `PRR_${reviewId}`,
      user: this.userJson(login),
      body: review.body || null,
      commit_id: headSha,
      submitted_at: new Date().toISOString(),
      state: kind.toLowerCase(),
      html_url: html,
      pull_request_url: `${api}/repos/${owner}/${name}/pulls/${number}`,
      author_association: 'COLLABORATOR',
      _links: { html: { href: html }, pull_request: { href: `${api}/repos/${owner}/${name}/pulls/${number}` } },
    };
    deliveries.push(
      await this.deliver('pull_request_review', {
        action: 'submitted',
        review: reviewJson,
        pull_request: pullJson,
        ...this.common(repo, login),
      }),
    );
    return { reviewId, comments: made, deliveries };
  }

  /** A new issue (issues.opened). */
  async createIssue(
    owner: string,
    name: string,
    login: string,
    issue: { title: string; body: string },
  ): Promise<{ number: number; url: string; delivery: Delivery }> {
    const repo = this.repo(owner, name);
    const made = addIssue(this.model, repo, { ...issue, author: this.user(login).login });
    const delivery = await this.deliver('issues', {
      action: 'opened',
      issue: this.issueJson(repo, made.number, undefined, made),
      ...this.common(repo, login),
    });
    return { number: made.number, url: `${this.urls().web}/${owner}/${name}/issues/${made.number}`, delivery };
  }

  /** A label put on an issue (issues.labeled). */
  async addLabel(owner: string, name: string, number: number, login: string, label: string): Promise<Delivery> {
    const repo = this.repo(owner, name);
    const issue = steeringOf(repo).issues.find((i) => i.number === number);
    if (!issue) throw new Error(`no issue #${number}`);
    issue.labels.push(label);
    return this.deliver('issues', {
      action: 'labeled',
      issue: this.issueJson(repo, number, undefined, issue),
      label: this.labelJson(repo, label, issue.labels.length - 1),
      ...this.common(repo, login),
    });
  }

  /** What the stand-in holds for assertions: reactions, check runs, statuses, review comments. */
  state(owner: string, name: string) {
    return steeringOf(this.repo(owner, name));
  }
}
