// The stand-in's REST routes for work steered from GitHub, as strict as GitHub: reactions on
// issues and comments (200 for a reaction the user already made, 201 for a new one), check
// runs (GitHub Apps only, with checks: write), commit statuses, a review's comments and
// replies in a review thread. Every answer is checked against GitHub's OpenAPI description.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertResponseMatches } from './openapi.js';
import type { Model, Permission, Repo } from './model.js';
import type { Urls } from './restShapes.js';
import { steeringOf, type CheckRun, type ReactionContent, type ReactionTarget } from './steeringModel.js';
import * as shapes from './steeringShapes.js';

const DOCS = 'https://docs.github.com/rest';
const NOT_FOUND = { message: 'Not Found', documentation_url: DOCS, status: '404' };
const CONTENTS = new Set<ReactionContent>(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']);
const CONCLUSIONS = new Set(['action_required', 'cancelled', 'failure', 'neutral', 'success', 'skipped', 'stale', 'timed_out']);
const SHA = /^[0-9a-f]{40}$/;
type P = Record<string, string>;
type Body = Record<string, unknown>;

function send(reply: FastifyReply, operation: string, status: number, body: unknown): FastifyReply {
  assertResponseMatches(operation, status, body);
  return reply.code(status).send(body);
}

const refuse = (reply: FastifyReply, status: number, message: string) =>
  reply.code(status).send({ message, documentation_url: DOCS, status: String(status) });

export function registerSteeringRoutes(app: FastifyInstance, model: Model, urls: () => Urls): void {
  const prefix = '/api/v3/repos/:owner/:repo';

  /** The repository, if the caller may see it and has `needed` (a user) or one of `appPermissions` at write (an App). */
  const repoFor = (
    req: FastifyRequest,
    reply: FastifyReply,
    _operation: string,
    needed: Permission,
    appPermissions: string[],
  ): Repo | undefined => {
    const { owner = '', repo = '' } = req.params as P;
    const user = req.ghUser;
    const r = model.visibleRepo(owner, repo, user);
    if (!r) {
      reply.code(404).send(NOT_FOUND);
      return undefined;
    }
    if (!user) {
      refuse(reply, 401, 'Requires authentication');
      return undefined;
    }
    const scope = user.scope;
    const allowed = scope ? appPermissions.some((p) => scope.permissions[p] === 'write') : model.can(r, user, needed);
    if (!allowed) {
      refuse(reply, 403, scope ? 'Resource not accessible by integration' : 'Must have push access to repository');
      return undefined;
    }
    return r;
  };

  const react = (target: ReactionTarget) => async (req: FastifyRequest, reply: FastifyReply) => {
    const op =
      target === 'issue'
        ? 'post /repos/{owner}/{repo}/issues/{issue_number}/reactions'
        : target === 'issue-comment'
          ? 'post /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions'
          : 'post /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions';
    const repo = repoFor(req, reply, op, 'READ', target === 'review-comment' ? ['pull_requests'] : ['issues', 'pull_requests']);
    if (!repo || !req.ghUser) return reply;
    const id = Number((req.params as P).id);
    const state = steeringOf(repo);
    const exists =
      target === 'issue'
        ? state.issues.some((i) => i.number === id) || repo.pulls.some((p) => p.number === id)
        : target === 'issue-comment'
          ? repo.comments.some((c) => c.id === id)
          : state.reviewComments.some((c) => c.id === id);
    if (!exists) return reply.code(404).send(NOT_FOUND);
    const content = (req.body as Body | undefined)?.content;
    if (typeof content !== 'string' || !CONTENTS.has(content as ReactionContent))
      return send(reply, op, 422, {
        message: 'Validation Failed',
        documentation_url: DOCS,
        errors: [{ resource: 'Reaction', code: 'invalid', field: 'content' }],
      });
    const login = req.ghUser.login;
    const same = state.reactions.find((r) => r.target === target && r.targetId === id && r.user === login && r.content === content);
    if (same) return send(reply, op, 200, shapes.reaction(model, urls(), same));
    const made = {
      id: model.nextId(),
      target,
      targetId: id,
      content: content as ReactionContent,
      user: login,
      createdAt: new Date().toISOString(),
      at: Date.now(),
    };
    state.reactions.push(made);
    return send(reply, op, 201, shapes.reaction(model, urls(), made));
  };
  app.post(`${prefix}/issues/:id/reactions`, react('issue'));
  app.post(`${prefix}/issues/comments/:id/reactions`, react('issue-comment'));
  app.post(`${prefix}/pulls/comments/:id/reactions`, react('review-comment'));

  /** Checks: GitHub Apps only (a personal token gets 403, as on GitHub). */
  const appOnly = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (req.ghUser?.scope) return true;
    refuse(reply, 403, 'You must authenticate via a GitHub App.');
    return false;
  };
  const output = (v: unknown): CheckRun['output'] | undefined | null => {
    if (v === undefined) return undefined;
    const o = v as Body;
    if (!o || typeof o !== 'object' || typeof o.title !== 'string' || typeof o.summary !== 'string' || o.summary.length > 65_535)
      return null;
    return { title: o.title, summary: o.summary, text: typeof o.text === 'string' ? o.text : null };
  };
  /** What GitHub checks of a run's fields: a completed run has a conclusion, a conclusion completes it. */
  const apply = (run: CheckRun, b: Body): string | null => {
    const status = b.status ?? (b.conclusion !== undefined ? 'completed' : undefined);
    if (status !== undefined && (typeof status !== 'string' || !['queued', 'in_progress', 'completed'].includes(status)))
      return 'status is not included in the list';
    if (b.conclusion !== undefined && (typeof b.conclusion !== 'string' || !CONCLUSIONS.has(b.conclusion)))
      return 'conclusion is not included in the list';
    if (status === 'completed' && b.conclusion === undefined && run.conclusion === null)
      return "Conclusion can't be blank when status is completed";
    if (b.details_url !== undefined && (typeof b.details_url !== 'string' || !/^https?:\/\//.test(b.details_url)))
      return 'details_url must be an http(s) URL';
    const out = output(b.output);
    if (out === null) return 'output needs a title and a summary (at most 65535 characters)';
    if (status !== undefined) {
      run.status = status as CheckRun['status'];
      run.history.push(run.status);
    }
    if (typeof b.conclusion === 'string') run.conclusion = b.conclusion;
    if (run.status === 'completed') run.completedAt = typeof b.completed_at === 'string' ? b.completed_at : new Date().toISOString();
    if (typeof b.details_url === 'string') run.detailsUrl = b.details_url;
    if (typeof b.external_id === 'string') run.externalId = b.external_id;
    if (out) run.output = out;
    return null;
  };
  // GitHub's description lists no 422 for these operations, though GitHub answers one: sent unchecked.
  const invalid = (reply: FastifyReply, _op: string, message: string) =>
    reply.code(422).send({ message, documentation_url: DOCS, status: '422' });

  app.post(`${prefix}/check-runs`, async (req, reply) => {
    const op = 'post /repos/{owner}/{repo}/check-runs';
    if (!appOnly(req, reply)) return reply;
    const repo = repoFor(req, reply, op, 'WRITE', ['checks']);
    if (!repo || !req.ghUser?.scope) return reply;
    const b = (req.body ?? {}) as Body;
    if (typeof b.name !== 'string' || !b.name || typeof b.head_sha !== 'string' || !SHA.test(b.head_sha))
      return invalid(reply, op, 'Validation Failed: name and head_sha are required');
    if (!(await repo.bare.objectExists(b.head_sha))) return invalid(reply, op, 'No commit found for SHA: ' + b.head_sha);
    const run: CheckRun = {
      id: model.nextId(),
      appId: req.ghUser.scope.installation.app.id,
      name: b.name,
      headSha: b.head_sha,
      status: 'queued',
      conclusion: null,
      detailsUrl: null,
      externalId: null,
      output: { title: null, summary: null, text: null },
      startedAt: new Date().toISOString(),
      completedAt: null,
      history: [],
    };
    const problem = apply(run, { status: 'queued', ...b });
    if (problem) return invalid(reply, op, problem);
    steeringOf(repo).checkRuns.push(run);
    return send(reply, op, 201, shapes.checkRun(model, urls(), repo, run));
  });

  app.patch(`${prefix}/check-runs/:id`, async (req, reply) => {
    const op = 'patch /repos/{owner}/{repo}/check-runs/{check_run_id}';
    if (!appOnly(req, reply)) return reply;
    const repo = repoFor(req, reply, op, 'WRITE', ['checks']);
    if (!repo || !req.ghUser?.scope) return reply;
    const run = steeringOf(repo).checkRuns.find((r) => r.id === Number((req.params as P).id));
    // Another App's run is not this App's to change.
    if (!run || run.appId !== req.ghUser.scope.installation.app.id) return reply.code(404).send(NOT_FOUND);
    const problem = apply(run, (req.body ?? {}) as Body);
    if (problem) return invalid(reply, op, problem);
    return send(reply, op, 200, shapes.checkRun(model, urls(), repo, run));
  });

  app.get(`${prefix}/commits/:ref/check-runs`, async (req, reply) => {
    const op = 'get /repos/{owner}/{repo}/commits/{ref}/check-runs';
    const repo = repoFor(req, reply, op, 'READ', ['checks', 'contents', 'pull_requests', 'metadata']);
    if (!repo) return reply;
    const runs = steeringOf(repo).checkRuns.filter((r) => r.headSha === (req.params as P).ref);
    return send(reply, op, 200, { total_count: runs.length, check_runs: runs.map((r) => shapes.checkRun(model, urls(), repo, r)) });
  });

  app.post(`${prefix}/statuses/:sha`, async (req, reply) => {
    const op = 'post /repos/{owner}/{repo}/statuses/{sha}';
    const repo = repoFor(req, reply, op, 'WRITE', ['statuses']);
    if (!repo || !req.ghUser) return reply;
    const sha = (req.params as P).sha ?? '';
    const b = (req.body ?? {}) as Body;
    if (!['pending', 'success', 'failure', 'error'].includes(String(b.state)))
      return reply.code(422).send({ message: 'Validation Failed', documentation_url: DOCS });
    if (typeof b.description === 'string' && b.description.length > 140)
      return reply.code(422).send({ message: 'description is too long (maximum is 140 characters)', documentation_url: DOCS });
    if (!SHA.test(sha) || !(await repo.bare.objectExists(sha)))
      return reply.code(422).send({ message: `No commit found for SHA: ${sha}`, documentation_url: DOCS });
    const s = {
      id: model.nextId(),
      sha,
      state: b.state as 'pending',
      context: typeof b.context === 'string' ? b.context : 'default',
      description: typeof b.description === 'string' ? b.description : null,
      targetUrl: typeof b.target_url === 'string' ? b.target_url : null,
      creator: req.ghUser.login,
      createdAt: new Date().toISOString(),
    };
    steeringOf(repo).statuses.push(s);
    return send(reply, op, 201, shapes.commitStatus(model, urls(), repo, s));
  });

  app.get(`${prefix}/pulls/:number/reviews/:review/comments`, async (req, reply) => {
    const op = 'get /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments';
    const repo = repoFor(req, reply, op, 'READ', ['pull_requests', 'contents', 'issues', 'checks', 'metadata']);
    if (!repo) return reply;
    const { number, review } = req.params as P;
    const state = steeringOf(repo);
    if (!state.reviews.some((r) => r.id === Number(review) && r.pullNumber === Number(number))) return send(reply, op, 404, NOT_FOUND);
    const q = req.query as P;
    const perPage = Math.min(100, Number(q.per_page ?? 30));
    const page = Math.max(1, Number(q.page ?? 1));
    const all = state.reviewComments.filter((c) => c.reviewId === Number(review));
    return send(
      reply,
      op,
      200,
      all.slice((page - 1) * perPage, page * perPage).map((c) => shapes.reviewComment(model, urls(), repo, c)),
    );
  });

  app.post(`${prefix}/pulls/:number/comments/:id/replies`, async (req, reply) => {
    const op = 'post /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies';
    const repo = repoFor(req, reply, op, 'READ', ['pull_requests']);
    if (!repo || !req.ghUser) return reply;
    const { number, id } = req.params as P;
    const state = steeringOf(repo);
    const parent = state.reviewComments.find((c) => c.id === Number(id) && c.pullNumber === Number(number));
    if (!parent) return send(reply, op, 404, NOT_FOUND);
    const body = (req.body as Body | undefined)?.body;
    if (typeof body !== 'string' || !body) return reply.code(422).send({ message: 'Validation Failed', documentation_url: DOCS });
    // A reply is a comment of a review of its own, in the thread of the comment it answers (the thread's first).
    const reviewId = model.nextId();
    state.reviews.push({
      id: reviewId,
      pullNumber: parent.pullNumber,
      body: '',
      author: req.ghUser.login,
      state: 'COMMENTED',
      commitId: parent.commitId,
      submittedAt: new Date().toISOString(),
    });
    const made = {
      ...parent,
      id: model.nextId(),
      reviewId,
      body,
      author: req.ghUser.login,
      inReplyTo: parent.inReplyTo ?? parent.id,
      createdAt: new Date().toISOString(),
    };
    state.reviewComments.push(made);
    return send(reply, op, 201, shapes.reviewComment(model, urls(), repo, made));
  });
}
