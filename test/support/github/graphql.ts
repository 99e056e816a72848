// GraphQL for the stand-in: every document is parsed and validated against
// GitHub's published schema (@octokit/graphql-schema), then executed with a small
// set of resolvers over the model. Mutation fields run in order and each one runs
// even when an earlier one failed, as the GraphQL spec (and GitHub) do.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  execute,
  Kind,
  parse,
  validate,
  GraphQLError,
  type GraphQLSchema,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { ZERO_OID } from './bareRepo.js';
import { nodeId, type Model, type Repo, type User, type PullRequest } from './model.js';

let cachedSchema: GraphQLSchema | undefined;
export function githubSchema(): GraphQLSchema {
  if (!cachedSchema) {
    // The package exports only its JS entry (which parses a 10 MB JSON on import); read the SDL beside it.
    const file = new URL('../../../node_modules/@octokit/graphql-schema/schema.graphql', import.meta.url);
    cachedSchema = buildSchema(readFileSync(fileURLToPath(file), 'utf8'), { assumeValidSDL: true });
  }
  return cachedSchema;
}

/** GitHub puts an error's `type` beside its message, not under extensions. */
function fail(type: string, message: string): never {
  throw new GraphQLError(message, { extensions: { type } });
}

export interface GraphqlContext {
  model: Model;
  user: User;
  webUrl: string;
  /** Test hook awaited before each mutation field runs (to interleave documents). */
  beforeMutationField?: (field: string, input: unknown) => Promise<void> | void;
}

export interface GraphqlResult {
  data?: unknown;
  errors?: Array<Record<string, unknown>>;
}

function refObject(ctx: GraphqlContext, repo: Repo, qualifiedName: string, oid: string) {
  const prefix = qualifiedName.startsWith('refs/heads/') ? 'refs/heads/' : qualifiedName.replace(/[^/]+$/, '');
  const name = qualifiedName.slice(prefix.length);
  return {
    id: nodeId.ref(repo, qualifiedName),
    name,
    prefix,
    target: commitObject(ctx, repo, oid),
    repository: () => repositoryObject(ctx, repo),
    associatedPullRequests: ({ states }: { states?: string[] }) => {
      const nodes = repo.pulls
        .filter((p) => p.head === name && (!states || states.includes(p.merged ? 'MERGED' : p.state === 'open' ? 'OPEN' : 'CLOSED')))
        .map((p) => pullObject(ctx, repo, p));
      return { nodes, totalCount: nodes.length };
    },
  };
}

function commitObject(ctx: GraphqlContext, repo: Repo, oid: string) {
  return {
    __typename: 'Commit',
    id: nodeId.commit(oid),
    oid,
    abbreviatedOid: oid.slice(0, 7),
    url: `${ctx.webUrl}/${repo.owner}/${repo.name}/commit/${oid}`,
    message: async () => (await repo.bare.git(['log', '-1', '--format=%B', oid])).trimEnd(),
    messageHeadline: async () => (await repo.bare.git(['log', '-1', '--format=%s', oid])).trim(),
  };
}

function pullObject(ctx: GraphqlContext, repo: Repo, pr: PullRequest) {
  return {
    id: nodeId.pull(pr),
    number: pr.number,
    title: pr.title,
    body: pr.body,
    url: `${ctx.webUrl}/${repo.owner}/${repo.name}/pull/${pr.number}`,
    baseRefName: pr.base,
    headRefName: pr.head,
    isDraft: pr.draft,
    state: pr.merged ? 'MERGED' : pr.state === 'open' ? 'OPEN' : 'CLOSED',
    merged: pr.merged,
    closed: pr.state === 'closed',
    createdAt: pr.createdAt,
    author: { __typename: pr.author.endsWith('[bot]') ? 'Bot' : 'User', login: pr.author },
    headRefOid: async () => (await repo.bare.resolve(`refs/heads/${pr.head}`)) ?? ZERO_OID,
    baseRefOid: async () => (await repo.bare.resolve(`refs/heads/${pr.base}`)) ?? ZERO_OID,
    repository: () => repositoryObject(ctx, repo),
  };
}

function repositoryObject(ctx: GraphqlContext, repo: Repo) {
  const { model, user } = ctx;
  return {
    id: nodeId.repo(repo),
    databaseId: repo.id,
    name: repo.name,
    nameWithOwner: `${repo.owner}/${repo.name}`,
    owner: { __typename: 'User', login: repo.owner, id: `U_${repo.owner}` },
    isPrivate: repo.private,
    url: `${ctx.webUrl}/${repo.owner}/${repo.name}`,
    viewerPermission: model.permission(repo, user),
    viewerCanAdminister: model.can(repo, user, 'ADMIN'),
    defaultBranchRef: async () => {
      const oid = await repo.bare.resolve(`refs/heads/${repo.defaultBranch}`);
      return oid ? refObject(ctx, repo, `refs/heads/${repo.defaultBranch}`, oid) : null;
    },
    ref: async ({ qualifiedName }: { qualifiedName: string }) => {
      const q = qualifiedName.startsWith('refs/') ? qualifiedName : `refs/heads/${qualifiedName}`;
      const oid = await repo.bare.resolve(q);
      return oid ? refObject(ctx, repo, q, oid) : null;
    },
    pullRequest: ({ number }: { number: number }) => {
      const pr = repo.pulls.find((p) => p.number === number);
      return pr ? pullObject(ctx, repo, pr) : null;
    },
  };
}

const REF_NAME = /^refs\/(heads|tags)\/[^\s~^:?*[\\]+$/;

function writableRepo(ctx: GraphqlContext, repo: Repo | undefined, what: string): Repo {
  if (!repo || !ctx.model.permission(repo, ctx.user)) fail('NOT_FOUND', `Could not resolve to a node with the global id of '${what}'`);
  if (!ctx.model.can(repo, ctx.user, 'WRITE'))
    fail('FORBIDDEN', `${ctx.user.login} does not have the correct permissions to execute \`${what}\``);
  return repo;
}

function rootValue(ctx: GraphqlContext) {
  const { model } = ctx;
  const mutation =
    <I, R>(name: string, run: (input: I) => Promise<R>) =>
    async ({ input }: { input: I }) => {
      await ctx.beforeMutationField?.(name, input);
      return run(input);
    };
  return {
    viewer: () => ({ login: ctx.user.login, id: nodeId.user(ctx.user), databaseId: ctx.user.id, name: ctx.user.login }),
    rateLimit: () => ({
      limit: 5000,
      remaining: 5000,
      cost: 1,
      used: 0,
      resetAt: new Date(Date.now() + 3600_000).toISOString(),
      nodeCount: 0,
    }),
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = model.visibleRepo(owner, name, ctx.user);
      if (!repo) fail('NOT_FOUND', `Could not resolve to a Repository with the name '${owner}/${name}'.`);
      return repositoryObject(ctx, repo);
    },

    createRef: mutation('createRef', async (input: { repositoryId: string; name: string; oid: string }) => {
      const repo = writableRepo(ctx, model.repoById(nodeId.decodeRepo(input.repositoryId) ?? -1), 'createRef');
      if (!REF_NAME.test(input.name)) fail('UNPROCESSABLE', `Reference name is invalid: '${input.name}'`);
      if (!(await repo.bare.objectExists(input.oid))) fail('UNPROCESSABLE', `Object does not exist: ${input.oid}`);
      if (!(await repo.bare.updateRef(input.name, input.oid, ZERO_OID)))
        fail('UNPROCESSABLE', `A ref named "${input.name}" already exists in the repository.`);
      return { ref: refObject(ctx, repo, input.name, input.oid) };
    }),

    deleteRef: mutation('deleteRef', async (input: { refId: string }) => {
      const decoded = nodeId.decodeRef(input.refId);
      const repo = writableRepo(ctx, decoded ? model.repoById(decoded[0]) : undefined, 'deleteRef');
      if (!decoded || !(await repo.bare.deleteRef(decoded[1])))
        fail('NOT_FOUND', `Could not resolve to a node with the global id of '${input.refId}'`);
      return { clientMutationId: null };
    }),

    createCommitOnBranch: mutation(
      'createCommitOnBranch',
      async (input: {
        branch: { repositoryNameWithOwner?: string; branchName?: string; id?: string };
        expectedHeadOid: string;
        message: { headline: string; body?: string };
        fileChanges?: { additions?: { path: string; contents: string }[]; deletions?: { path: string }[] };
      }) => {
        let repo: Repo | undefined;
        let qualified: string;
        if (input.branch.id) {
          const decoded = nodeId.decodeRef(input.branch.id);
          repo = decoded ? model.repoById(decoded[0]) : undefined;
          qualified = decoded?.[1] ?? '';
        } else {
          const [owner = '', name = ''] = (input.branch.repositoryNameWithOwner ?? '').split('/');
          repo = model.repo(owner, name);
          qualified = `refs/heads/${input.branch.branchName ?? ''}`;
        }
        repo = writableRepo(ctx, repo, 'createCommitOnBranch');
        const head = await repo.bare.resolve(qualified);
        if (!head) fail('NOT_FOUND', `A ref named "${qualified}" does not exist in the repository.`);
        if (head !== input.expectedHeadOid)
          fail('STALE_DATA', `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`);
        const additions = (input.fileChanges?.additions ?? []).map((a) => ({ path: a.path, contents: Buffer.from(a.contents, 'base64') }));
        const message = input.message.body ? `${input.message.headline}\n\n${input.message.body}` : input.message.headline;
        const oid = await repo.bare.commit({
          parent: head,
          additions,
          deletions: (input.fileChanges?.deletions ?? []).map((d) => d.path),
          message,
          author: { name: ctx.user.login, email: `${ctx.user.id}+${ctx.user.login}@users.noreply.github.com` },
        });
        if (!(await repo.bare.updateRef(qualified, oid, head)))
          fail('STALE_DATA', `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`);
        return { commit: commitObject(ctx, repo, oid), ref: refObject(ctx, repo, qualified, oid) };
      },
    ),

    markPullRequestReadyForReview: mutation('markPullRequestReadyForReview', async (input: { pullRequestId: string }) => {
      for (const repo of model.repos.values()) {
        const pr = repo.pulls.find((p) => nodeId.pull(p) === input.pullRequestId);
        if (!pr) continue;
        writableRepo(ctx, repo, 'markPullRequestReadyForReview');
        if (pr.state !== 'open') fail('UNPROCESSABLE', 'Pull request is closed and cannot be marked ready for review.');
        pr.draft = false;
        pr.updatedAt = new Date().toISOString();
        return { pullRequest: pullObject(ctx, repo, pr) };
      }
      fail('NOT_FOUND', `Could not resolve to a node with the global id of '${input.pullRequestId}'`);
    }),

    closePullRequest: mutation('closePullRequest', async (input: { pullRequestId: string }) => {
      for (const repo of model.repos.values()) {
        const pr = repo.pulls.find((p) => nodeId.pull(p) === input.pullRequestId);
        if (!pr) continue;
        writableRepo(ctx, repo, 'closePullRequest');
        pr.state = 'closed';
        pr.closedAt = pr.updatedAt = new Date().toISOString();
        return { pullRequest: pullObject(ctx, repo, pr) };
      }
      fail('NOT_FOUND', `Could not resolve to a node with the global id of '${input.pullRequestId}'`);
    }),

    createPullRequest: mutation(
      'createPullRequest',
      async (input: { repositoryId: string; baseRefName: string; headRefName: string; title: string; body?: string; draft?: boolean }) => {
        const repo = writableRepo(ctx, model.repoById(nodeId.decodeRepo(input.repositoryId) ?? -1), 'createPullRequest');
        const strip = (n: string) => n.replace(/^refs\/heads\//, '');
        const base = strip(input.baseRefName);
        const head = strip(input.headRefName);
        const [baseOid, headOid] = await Promise.all([repo.bare.resolve(`refs/heads/${base}`), repo.bare.resolve(`refs/heads/${head}`)]);
        if (!baseOid) fail('UNPROCESSABLE', `Base ref must be a branch`);
        if (!headOid)
          fail(
            'UNPROCESSABLE',
            `Head sha can't be blank, Base sha can't be blank, No commits between ${base} and ${head}, Head ref must be a branch`,
          );
        if (headOid === baseOid) fail('UNPROCESSABLE', `No commits between ${base} and ${head}`);
        if (model.openPull(repo, head, base)) fail('UNPROCESSABLE', `A pull request already exists for ${repo.owner}:${head}.`);
        const pr = model.addPull(repo, {
          title: input.title,
          body: input.body ?? '',
          head,
          base,
          draft: input.draft ?? false,
          author: ctx.user.login,
        });
        return { pullRequest: pullObject(ctx, repo, pr) };
      },
    ),
  };
}

export function operationOf(doc: DocumentNode, operationName?: string): OperationDefinitionNode | undefined {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
}

export async function runGraphql(
  ctx: GraphqlContext,
  query: string,
  variables: Record<string, unknown> | undefined,
  operationName?: string,
): Promise<GraphqlResult> {
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (e) {
    return { errors: [{ message: (e as Error).message, type: 'PARSE_ERROR' }] };
  }
  const schema = githubSchema();
  const problems = validate(schema, doc);
  if (problems.length > 0) {
    return { errors: problems.map((p) => ({ message: p.message, locations: p.locations, extensions: { code: 'undefinedField' } })) };
  }
  const result = await execute({ schema, document: doc, rootValue: rootValue(ctx), variableValues: variables, operationName });
  const out: GraphqlResult = {};
  if (result.data !== undefined) out.data = result.data;
  if (result.errors?.length) {
    out.errors = result.errors.map((e) => {
      const type = (e.extensions as { type?: string } | undefined)?.type;
      return { ...(type ? { type } : {}), path: e.path, locations: e.locations, message: e.message };
    });
  }
  return out;
}
