// The GitHub stand-in: REST (under /api/v3), GraphQL (/api/graphql and /graphql)
// and git smart HTTP (/<owner>/<repo>.git) over one loopback port, backed by real
// bare repositories. Strict like GitHub: responses are checked against GitHub's
// OpenAPI description, GraphQL documents against GitHub's schema. GitHub Apps
// authenticate with RS256 JWTs and get installation tokens limited to the
// repositories and permissions they ask for. Pull requests and files also have
// minimal web pages (web.ts), where html_url points.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Model, type User, type Repo, type Permission, type AppPermissions, type GitHubApp, type Installation } from './model.js';
import { verifyAppJwt } from './apps.js';
import type { FileAddition } from './bareRepo.js';
import { ZERO_OID } from './bareRepo.js';
import { gitRequestOf, handleGitHttp, tokenFromAuthorization, type GitRequest } from './gitHttp.js';
import { runGraphql, operationOf, type GraphqlContext } from './graphql.js';
import { assertResponseMatches } from './openapi.js';
import { RateLimits, type Resource } from './rateLimit.js';
import * as shapes from './restShapes.js';
import { registerWebPages } from './web.js';
import { registerSteeringRoutes } from './steeringRoutes.js';
import { StandInWebhooks } from './webhooks.js';
import { Kind, parse } from 'graphql';

export interface FailureRule {
  method?: string;
  /** Matched against the path (without query). */
  path?: RegExp;
  /** Matched against the GraphQL document's first root field, e.g. "createRef". */
  graphqlField?: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  /** For GraphQL: the root fields of the document. */
  graphqlFields?: string[];
  user?: string;
  kind: 'rest' | 'graphql' | 'git' | 'web';
  at: number;
}

export interface GitHubStandInOptions {
  latencyMs?: number;
  rateLimit?: number;
}

const DOCS = 'https://docs.github.com/rest';
/** The web pages (a PR, its diff, a file): what is neither the API nor git. */
const isWebPage = (url: string) => !/^\/(?:api\/|graphql)/.test(url);

declare module 'fastify' {
  interface FastifyRequest {
    ghUser?: User;
    ghWho: string;
    ghResource: Resource;
    ghFields?: string[];
  }
}

const NOT_FOUND = { message: 'Not Found', documentation_url: DOCS, status: '404' };

/** Every REST answer is checked against GitHub's OpenAPI description before it goes out. */
function sendChecked(reply: FastifyReply, operation: string, status: number, body: unknown): FastifyReply {
  assertResponseMatches(operation, status, body);
  return reply.code(status).send(body);
}

export class GitHubStandIn {
  latencyMs: number;
  readonly requests: LoggedRequest[] = [];
  readonly rateLimits: RateLimits;
  beforeMutationField?: GraphqlContext['beforeMutationField'];
  /** Test hook awaited before a git smart HTTP request is served (to hold a fetch or a push). */
  beforeGit?: (request: GitRequest) => Promise<void> | void;
  private readonly rules: FailureRule[] = [];
  private app!: FastifyInstance;
  /** What people do on GitHub (comments, reviews, issues, labels), delivered to a webhook; and the steering state (webhooks.ts). */
  readonly webhooks: StandInWebhooks;
  private server!: Server;
  origin = '';

  private constructor(
    readonly model: Model,
    opts: GitHubStandInOptions,
  ) {
    this.latencyMs = opts.latencyMs ?? 0;
    this.rateLimits = new RateLimits(opts.rateLimit ?? 5000);
    this.webhooks = new StandInWebhooks(model, () => this.urls);
  }

  static async start(opts: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
    const root = await mkdtemp(join(tmpdir(), 'gh-standin-'));
    const s = new GitHubStandIn(new Model(root), opts);
    await s.listen();
    return s;
  }

  get apiUrl(): string {
    return `${this.origin}/api/v3`;
  }
  get graphqlUrl(): string {
    return `${this.origin}/api/graphql`;
  }
  get gitBaseUrl(): string {
    return this.origin;
  }
  get webUrl(): string {
    return this.origin;
  }
  private get urls(): shapes.Urls {
    return { api: this.apiUrl, web: this.webUrl };
  }

  addUser(login: string, token = `ghp_${login}_${Math.random().toString(36).slice(2)}`): User {
    return this.model.addUser(login, token);
  }

  createRepo(owner: string, name: string, opts?: { defaultBranch?: string; files?: FileAddition[]; private?: boolean }): Promise<Repo> {
    return this.model.createRepo(owner, name, opts);
  }

  grant(owner: string, name: string, login: string, permission: Permission): void {
    const repo = this.model.repo(owner, name);
    if (!repo) throw new Error(`no repository ${owner}/${name}`);
    this.model.grant(repo, login, permission);
  }

  /** Registers a GitHub App by its public key (see makeAppKey in apps.ts). */
  addApp(slug: string, publicKeyPem: string, permissions?: AppPermissions): GitHubApp {
    return this.model.addApp(slug, publicKeyPem, permissions);
  }

  /** Installs the App on a user or organisation: on all its repositories, or the named ones. */
  install(app: GitHubApp, account: string, repositories: 'all' | string[] = 'all'): Installation {
    return this.model.install(app, account, repositories);
  }

  /** The next matching request(s) fail as described. */
  inject(rule: FailureRule): void {
    this.rules.push({ times: 1, ...rule });
  }

  count(filter: (r: LoggedRequest) => boolean = () => true): number {
    return this.requests.filter(filter).length;
  }

  clearLog(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    await this.app.close();
    await rm(this.model.root, { recursive: true, force: true });
  }

  private takeRule(method: string, path: string, fields: string[] | undefined): FailureRule | undefined {
    const i = this.rules.findIndex(
      (r) =>
        (!r.method || r.method.toUpperCase() === method) &&
        (!r.path || r.path.test(path)) &&
        (!r.graphqlField || (fields ?? []).includes(r.graphqlField)),
    );
    const rule = this.rules[i];
    if (!rule) return undefined;
    rule.times = (rule.times ?? 1) - 1;
    if (rule.times <= 0) this.rules.splice(i, 1);
    return rule;
  }

  private async listen(): Promise<void> {
    const model = this.model;
    this.app = Fastify({
      logger: false,
      bodyLimit: 50 * 1024 * 1024,
      serverFactory: (handler) => {
        this.server = createServer((req, res) => {
          const serve = () => {
            const handled = handleGitHttp(model, req, res, (user, push) => {
              res.on('finish', () =>
                this.requests.push({
                  method: req.method ?? 'GET',
                  path: (req.url ?? '').split('?')[0] ?? '',
                  status: res.statusCode,
                  user: user?.login,
                  kind: 'git',
                  at: Date.now(),
                  ...(push ? { graphqlFields: ['push'] } : {}),
                }),
              );
            });
            if (!handled) handler(req, res);
          };
          const git = this.beforeGit && gitRequestOf(req.url);
          if (git && this.beforeGit) void Promise.resolve(this.beforeGit(git)).then(serve, serve);
          else serve();
        });
        return this.server;
      },
    });
    const app = this.app;

    app.decorateRequest('ghWho', '');
    app.decorateRequest('ghResource', 'core');
    app.addHook('onRequest', async (req) => {
      req.ghUser = model.userForToken(tokenFromAuthorization(req.headers.authorization));
      req.ghWho = req.ghUser ? `user:${req.ghUser.login}` : `ip:${req.ip}`;
      req.ghResource = req.url.includes('graphql') ? 'graphql' : 'core';
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    });
    app.addHook('preHandler', async (req, reply) => {
      if (req.ghResource === 'graphql') {
        const body = req.body as { query?: unknown } | undefined;
        try {
          const op = typeof body?.query === 'string' ? operationOf(parse(body.query)) : undefined;
          req.ghFields = op?.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
        } catch {
          /* reported by the GraphQL handler */
        }
      }
      const rule = this.takeRule(req.method, req.url.split('?')[0] ?? '', req.ghFields);
      if (rule) {
        const body =
          rule.body ??
          (rule.status === 403
            ? {
                message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
                documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
              }
            : { message: rule.status >= 500 ? 'Server Error' : 'Injected failure', documentation_url: DOCS });
        return reply
          .code(rule.status)
          .headers(rule.headers ?? {})
          .send(body);
      }
    });
    app.addHook('onSend', async (req, reply, payload) => {
      // Conditional requests: an unchanged GET answers 304 and costs no rate limit.
      if (req.method === 'GET' && reply.statusCode === 200 && typeof payload === 'string') {
        const etag = `W/"${createHash('sha1').update(payload).digest('hex')}"`;
        reply.header('etag', etag);
        const inm = req.headers['if-none-match'];
        if (
          inm &&
          inm
            .split(',')
            .map((s) => s.trim())
            .includes(etag)
        ) {
          reply.code(304);
          reply.headers(this.rateLimits.headers(req.ghWho, req.ghResource));
          return '';
        }
      }
      if (isWebPage(req.url)) return payload; // pages in a browser cost no API rate limit
      this.rateLimits.spend(req.ghWho, req.ghResource);
      reply.headers(this.rateLimits.headers(req.ghWho, req.ghResource));
      return payload;
    });
    app.addHook('onResponse', async (req, reply) => {
      this.requests.push({
        method: req.method,
        path: req.url.split('?')[0] ?? '',
        status: reply.statusCode,
        user: req.ghUser?.login,
        kind: req.ghResource === 'graphql' ? 'graphql' : isWebPage(req.url) ? 'web' : 'rest',
        at: Date.now(),
        ...(req.ghFields ? { graphqlFields: req.ghFields } : {}),
      });
    });

    this.graphqlRoutes(app);
    this.restRoutes(app);
    registerSteeringRoutes(app, model, () => this.urls);
    registerWebPages(app, model);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('stand-in did not get a TCP port');
    this.origin = `http://127.0.0.1:${addr.port}`;
  }

  private graphqlRoutes(app: FastifyInstance): void {
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.ghUser)
        return reply.code(401).send({
          message: 'This endpoint requires you to be authenticated.',
          documentation_url: 'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
        });
      const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | null;
      if (!body || typeof body.query !== 'string')
        return reply.code(400).send({ message: 'Problems parsing JSON', documentation_url: DOCS });
      const ctx: GraphqlContext = {
        model: this.model,
        user: req.ghUser,
        webUrl: this.webUrl,
        beforeMutationField: this.beforeMutationField,
      };
      return runGraphql(
        ctx,
        body.query,
        (body.variables ?? undefined) as Record<string, unknown> | undefined,
        typeof body.operationName === 'string' ? body.operationName : undefined,
      );
    };
    app.post('/api/graphql', handler);
    app.post('/graphql', handler);
  }

  private restRoutes(app: FastifyInstance): void {
    const model = this.model;
    const urls = () => this.urls;
    type P = Record<string, string>;
    const notFound = NOT_FOUND;
    const send = sendChecked;
    const repoFor = (req: FastifyRequest, reply: FastifyReply, operation: string, needed: Permission = 'READ'): Repo | undefined => {
      const { owner = '', repo = '' } = req.params as P;
      const r = model.visibleRepo(owner, repo, req.ghUser);
      if (!r) {
        send(reply, operation, 404, notFound);
        return undefined;
      }
      if (needed !== 'READ' && !model.can(r, req.ghUser, needed)) {
        reply.code(req.ghUser ? 403 : 401).send({
          message: req.ghUser ? 'Resource not accessible by integration' : 'Requires authentication',
          documentation_url: DOCS,
          status: String(req.ghUser ? 403 : 401),
        });
        return undefined;
      }
      return r;
    };
    const refParam = (req: FastifyRequest) => decodeURIComponent((req.params as P)['*'] ?? '').replace(/^refs\//, '');
    const unprocessable = (reply: FastifyReply, operation: string, message: string) =>
      send(reply, operation, 422, { message, documentation_url: DOCS, status: '422' });

    const prefix = '/api/v3/repos/:owner/:repo';
    app.get(prefix, async (req, reply) => {
      const op = 'get /repos/{owner}/{repo}';
      const repo = repoFor(req, reply, op);
      return repo && send(reply, op, 200, shapes.fullRepository(model, urls(), repo));
    });

    app.get(`${prefix}/git/ref/*`, async (req, reply) => {
      const op = 'get /repos/{owner}/{repo}/git/ref/{ref}';
      const repo = repoFor(req, reply, op);
      if (!repo) return reply;
      const ref = `refs/${refParam(req)}`;
      const sha = await repo.bare.resolve(ref);
      return sha ? send(reply, op, 200, shapes.gitRef(urls(), repo, ref, sha)) : send(reply, op, 404, notFound);
    });

    app.post(`${prefix}/git/refs`, async (req, reply) => {
      const op = 'post /repos/{owner}/{repo}/git/refs';
      const repo = repoFor(req, reply, op, 'WRITE');
      if (!repo) return reply;
      const { ref, sha } = (req.body ?? {}) as { ref?: string; sha?: string };
      if (typeof ref !== 'string' || !/^refs\/[^\s~^:?*[\\]+\/[^\s~^:?*[\\]+$/.test(ref) || typeof sha !== 'string')
        return unprocessable(reply, op, 'Invalid request.\n\n"ref" and "sha" are required.');
      if (!(await repo.bare.objectExists(sha))) return unprocessable(reply, op, 'Object does not exist');
      if (!(await repo.bare.updateRef(ref, sha, ZERO_OID))) return unprocessable(reply, op, 'Reference already exists');
      return send(reply, op, 201, shapes.gitRef(urls(), repo, ref, sha));
    });

    app.delete(`${prefix}/git/refs/*`, async (req, reply) => {
      const op = 'delete /repos/{owner}/{repo}/git/refs/{ref}';
      const repo = repoFor(req, reply, op, 'WRITE');
      if (!repo) return reply;
      if (!(await repo.bare.deleteRef(`refs/${refParam(req)}`))) return unprocessable(reply, op, 'Reference does not exist');
      return reply.code(204).send();
    });

    app.put(`${prefix}/contents/*`, async (req, reply) => {
      const op = 'put /repos/{owner}/{repo}/contents/{path}';
      const repo = repoFor(req, reply, op, 'WRITE');
      if (!repo || !req.ghUser) return reply;
      const path = decodeURIComponent((req.params as P)['*'] ?? '');
      const {
        message,
        content,
        branch = repo.defaultBranch,
        sha,
      } = (req.body ?? {}) as { message?: string; content?: string; branch?: string; sha?: string };
      if (typeof message !== 'string' || typeof content !== 'string')
        return unprocessable(reply, op, 'Invalid request.\n\n"message" and "content" are required.');
      const qualified = `refs/heads/${branch}`;
      const head = await repo.bare.resolve(qualified);
      if (!head) return send(reply, op, 404, { message: `Branch ${branch} not found`, documentation_url: DOCS, status: '404' });
      const existing = await repo.bare.blobSha(head, path);
      if (existing && sha !== existing)
        return send(reply, op, 409, { message: `${path} does not match ${sha ?? ''}`, documentation_url: DOCS, status: '409' });
      const author = { name: req.ghUser.login, email: `${req.ghUser.id}+${req.ghUser.login}@users.noreply.github.com` };
      const oid = await repo.bare.commit({
        parent: head,
        additions: [{ path, contents: Buffer.from(content, 'base64') }],
        message,
        author,
      });
      if (!(await repo.bare.updateRef(qualified, oid, head)))
        return send(reply, op, 409, { message: 'Reference update failed: the branch moved', documentation_url: DOCS, status: '409' });
      const blob = (await repo.bare.blobSha(oid, path)) ?? '';
      return send(reply, op, existing ? 200 : 201, shapes.fileCommit(urls(), repo, path, blob, oid, message, req.ghUser));
    });

    app.post(`${prefix}/pulls`, async (req, reply) => {
      const op = 'post /repos/{owner}/{repo}/pulls';
      const repo = repoFor(req, reply, op, 'WRITE');
      if (!repo || !req.ghUser) return reply;
      const {
        title,
        head,
        base,
        body = '',
        draft = false,
      } = (req.body ?? {}) as { title?: string; head?: string; base?: string; body?: string; draft?: boolean };
      if (typeof title !== 'string' || typeof head !== 'string' || typeof base !== 'string')
        return unprocessable(reply, op, 'Validation Failed');
      const headName = head.includes(':') ? (head.split(':')[1] ?? '') : head;
      const [headOid, baseOid] = await Promise.all([repo.bare.resolve(`refs/heads/${headName}`), repo.bare.resolve(`refs/heads/${base}`)]);
      if (!headOid || !baseOid) return unprocessable(reply, op, 'Validation Failed');
      if (headOid === baseOid) return unprocessable(reply, op, `No commits between ${base} and ${headName}`);
      if (model.openPull(repo, headName, base))
        return unprocessable(reply, op, `A pull request already exists for ${repo.owner}:${headName}.`);
      const pr = model.addPull(repo, { title, body, head: headName, base, draft, author: req.ghUser.login });
      return send(reply, op, 201, await shapes.pullRequest(model, urls(), repo, pr));
    });

    const pullFor = (req: FastifyRequest, repo: Repo) => repo.pulls.find((p) => p.number === Number((req.params as P).number));
    app.get(`${prefix}/pulls/:number`, async (req, reply) => {
      const op = 'get /repos/{owner}/{repo}/pulls/{pull_number}';
      const repo = repoFor(req, reply, op);
      const pr = repo && pullFor(req, repo);
      if (!repo) return reply;
      return pr ? send(reply, op, 200, await shapes.pullRequest(model, urls(), repo, pr)) : send(reply, op, 404, notFound);
    });

    app.get(`${prefix}/collaborators/:username/permission`, async (req, reply) => {
      const op = 'get /repos/{owner}/{repo}/collaborators/{username}/permission';
      const repo = repoFor(req, reply, op);
      if (!repo) return reply;
      const user = model.users.get((req.params as P).username ?? '');
      if (!user) return send(reply, op, 404, notFound);
      return send(reply, op, 200, shapes.collaboratorPermission(urls(), user, model.permission(repo, user)));
    });

    app.patch(`${prefix}/pulls/:number`, async (req, reply) => {
      const op = 'patch /repos/{owner}/{repo}/pulls/{pull_number}';
      const repo = repoFor(req, reply, op, 'WRITE');
      const pr = repo && pullFor(req, repo);
      if (!repo) return reply;
      if (!pr) return reply.code(404).send(notFound);
      const { state, title } = (req.body ?? {}) as { state?: 'open' | 'closed'; title?: string };
      if (state) {
        pr.state = state;
        pr.closedAt = state === 'closed' ? new Date().toISOString() : null;
      }
      if (title) pr.title = title;
      pr.updatedAt = new Date().toISOString();
      return send(reply, op, 200, await shapes.pullRequest(model, urls(), repo, pr));
    });

    app.post(`${prefix}/pulls/:number/requested_reviewers`, async (req, reply) => {
      const op = 'post /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers';
      const repo = repoFor(req, reply, op, 'TRIAGE');
      if (!repo || !req.ghUser) return reply;
      const scope = req.ghUser.scope;
      if (scope && scope.permissions.pull_requests !== 'write')
        return send(reply, op, 403, { message: 'Resource not accessible by integration', documentation_url: DOCS, status: '403' });
      const pr = pullFor(req, repo);
      if (!pr) return reply.code(404).send(notFound); // GitHub's description lists no 404 here
      const { reviewers = [], team_reviewers: teams = [] } = (req.body ?? {}) as { reviewers?: unknown; team_reviewers?: unknown };
      if (!Array.isArray(reviewers) || !reviewers.every((r) => typeof r === 'string') || !Array.isArray(teams))
        return unprocessable(reply, op, 'Invalid request.\n\n"reviewers" must be an array of logins.');
      if (teams.length > 0) return unprocessable(reply, op, 'Validation Failed: this stand-in has no teams');
      if (reviewers.some((r) => r.toLowerCase() === pr.author.toLowerCase()))
        return unprocessable(reply, op, 'Review cannot be requested from pull request author.');
      // Only collaborators (an explicit permission, the owner included) can be asked.
      const known = reviewers.map((r) => [...repo.permissions.keys()].find((login) => login.toLowerCase() === r.toLowerCase()));
      if (known.some((login) => !login || !model.users.has(login))) {
        return unprocessable(
          reply,
          op,
          `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${repo.owner}/${repo.name} repository.`,
        );
      }
      for (const login of known as string[]) if (!pr.requestedReviewers.includes(login)) pr.requestedReviewers.push(login);
      pr.updatedAt = new Date().toISOString();
      return send(reply, op, 201, await shapes.pullRequest(model, urls(), repo, pr));
    });

    this.appRoutes(app);

    const issueOp = (m: string) => `${m} /repos/{owner}/{repo}/issues/{issue_number}/comments`;
    app.get(`${prefix}/issues/:number/comments`, async (req, reply) => {
      const repo = repoFor(req, reply, issueOp('get'));
      if (!repo) return reply;
      const n = Number((req.params as P).number);
      return send(
        reply,
        issueOp('get'),
        200,
        repo.comments.filter((c) => c.issueNumber === n).map((c) => shapes.issueComment(model, urls(), repo, c)),
      );
    });
    app.post(`${prefix}/issues/:number/comments`, async (req, reply) => {
      const op = issueOp('post');
      const repo = repoFor(req, reply, op, 'TRIAGE');
      if (!repo || !req.ghUser) return reply;
      const n = Number((req.params as P).number);
      const scope = req.ghUser.scope;
      if (scope && scope.permissions.pull_requests !== 'write' && scope.permissions.issues !== 'write') {
        return send(reply, op, 403, { message: 'Resource not accessible by integration', documentation_url: DOCS, status: '403' });
      }
      const { body } = (req.body ?? {}) as { body?: string };
      if (typeof body !== 'string' || body.length === 0) return unprocessable(reply, op, 'Validation Failed');
      if (!repo.pulls.some((p) => p.number === n)) return send(reply, op, 404, notFound);
      const comment = { id: model.nextId(), issueNumber: n, body, author: req.ghUser.login, createdAt: new Date().toISOString() };
      repo.comments.push(comment);
      return send(reply, op, 201, shapes.issueComment(model, urls(), repo, comment));
    });
  }

  /** GitHub App routes: the repository's installation, installation tokens, and their revocation. */
  private appRoutes(app: FastifyInstance): void {
    const model = this.model;
    const urls = () => this.urls;
    type P = Record<string, string>;
    const notFound = NOT_FOUND;
    const send = sendChecked;
    // GitHub answers a bad JWT with 401 on every App route (not always in the description).
    const appFor = (req: FastifyRequest, reply: FastifyReply): GitHubApp | undefined => {
      const auth = verifyAppJwt(model, tokenFromAuthorization(req.headers.authorization));
      if ('app' in auth) return auth.app;
      reply.code(401).send({ message: auth.error, documentation_url: `${DOCS}/apps/apps`, status: '401' });
      return undefined;
    };

    // Identity: whose token this is (a session exchange), and a collaborator's permission (asked with the worker's credential).
    app.get('/api/v3/user', async (req, reply) => {
      const op = 'get /user';
      if (!req.ghUser || req.ghUser.scope)
        return send(reply, op, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
      return send(reply, op, 200, shapes.publicUser(urls(), req.ghUser));
    });

    app.get('/api/v3/repos/:owner/:repo/installation', async (req, reply) => {
      const op = 'get /repos/{owner}/{repo}/installation';
      const ghApp = appFor(req, reply);
      if (!ghApp) return reply;
      const { owner = '', repo = '' } = req.params as P;
      const r = model.repo(owner, repo);
      const inst = r && model.installationFor(ghApp, r);
      return inst ? send(reply, op, 200, shapes.installation(model, urls(), inst)) : send(reply, op, 404, notFound);
    });

    app.post('/api/v3/app/installations/:installation_id/access_tokens', async (req, reply) => {
      const op = 'post /app/installations/{installation_id}/access_tokens';
      const ghApp = appFor(req, reply);
      if (!ghApp) return reply;
      const inst = model.installations.get(Number((req.params as P).installation_id));
      if (!inst || inst.app !== ghApp) return send(reply, op, 404, notFound);
      const {
        repositories,
        repository_ids: ids,
        permissions,
      } = (req.body ?? {}) as { repositories?: unknown; repository_ids?: unknown; permissions?: unknown };
      const invalid = (message: string) =>
        send(reply, op, 422, {
          message,
          documentation_url: `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`,
          status: '422',
        });
      if (repositories !== undefined && (!Array.isArray(repositories) || !repositories.every((n) => typeof n === 'string')))
        return invalid('Invalid request.\n\n"repositories" must be an array of strings.');
      if (ids !== undefined && (!Array.isArray(ids) || !ids.every((n) => Number.isInteger(n))))
        return invalid('Invalid request.\n\n"repository_ids" must be an array of integers.');
      if (
        permissions !== undefined &&
        (!permissions ||
          typeof permissions !== 'object' ||
          Array.isArray(permissions) ||
          !Object.values(permissions).every((v) => v === 'read' || v === 'write'))
      )
        return invalid('Invalid request.\n\n"permissions" must map permission names to "read" or "write".');
      const named = repositories ?? [];
      const byId = (ids as number[] | undefined) ?? [];
      const selected = named.length > 0 || byId.length > 0;
      const wanted = [...named.map((n) => model.repo(inst.account, n)), ...byId.map((id) => model.repoById(id))];
      if (wanted.some((r) => !r || !model.covers(inst, r)))
        return invalid('There is at least one repository that does not exist or is not accessible to the parent installation.');
      const repos = selected ? [...new Set(wanted as Repo[])] : [...model.repos.values()].filter((r) => model.covers(inst, r));
      const perms = (permissions as AppPermissions | undefined) ?? ghApp.permissions;
      if (!model.grantsPermissions(inst, perms)) return invalid('The permissions requested are not granted to this installation.');
      const token = model.issueToken(inst, repos, selected, perms);
      return send(reply, op, 201, shapes.installationToken(model, urls(), token));
    });

    app.delete('/api/v3/installation/token', async (req, reply) => {
      const op = 'delete /installation/token';
      const token = tokenFromAuthorization(req.headers.authorization);
      if (!token || !model.revokeToken(token))
        return reply.code(401).send({ message: 'Bad credentials', documentation_url: DOCS, status: '401' });
      return send(reply, op, 204, undefined);
    });
  }
}
