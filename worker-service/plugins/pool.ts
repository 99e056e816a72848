// The jobs and where they queue, as one plugin: decorates `app.jobs` (what the routes
// use, pool/service.ts) — a single host's embedded durable queue (also `app.pool`), or,
// with KIRO_REDIS_URL, this host's part of a fleet sharing a queue on Redis. Loads or
// joins the queue at start, stops agents on close.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { Workspaces } from '../git/workspace.js';
import { githubCommenter, type Commenter } from '../github/comments.js';
import { credentialSource } from '../github/credentials.js';
import { GitHubFacts } from '../identity/githubFacts.js';
import { githubFinisher, type PrFinisher } from '../github/finish.js';
import { JobStore } from '../jobs/store.js';
import { FleetJobService } from '../fleet/fleetService.js';
import { EmbeddedJobService } from '../pool/embeddedService.js';
import { Pool } from '../pool/pool.js';
import type { JobService } from '../pool/service.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobService;
    githubFacts: GitHubFacts;
    /** The embedded queue (undefined in a fleet: use `jobs`). */
    pool: Pool;
  }
}

export interface PoolPluginOptions {
  config: WorkerConfig;
  version: string;
  commenter?: Commenter;
  finisher?: PrFinisher;
  env?: NodeJS.ProcessEnv;
}

export default fp<PoolPluginOptions>(async function poolPlugin(app: FastifyInstance, opts) {
  const { config } = opts;
  const log = app.log.child({ part: 'pool' });
  const workspaces = new Workspaces(config.stateDir, config.gitBaseUrl);
  const credentials = credentialSource(config, { log });
  const commenter = opts.commenter ?? (credentials.kind !== 'none' ? githubCommenter(config.githubApiUrl) : undefined);
  const finisher = opts.finisher ?? (credentials.kind !== 'none' ? githubFinisher(config.githubApiUrl) : undefined);
  // One source of GitHub facts for the pre-push check and the routes' authorization (plugins/guard.ts).
  const facts = new GitHubFacts(config.githubApiUrl, credentials);
  app.decorate('githubFacts', facts);
  const hostDeps = { config, workspaces, credentials, log, commenter, finisher, version: opts.version, env: opts.env, sandbox: app.sandbox, facts };
  let jobs: JobService;
  if (config.fleet) {
    jobs = new FleetJobService(hostDeps, config.fleet);
  } else {
    const pool = new Pool({ ...hostDeps, store: new JobStore(config.stateDir) });
    app.decorate('pool', pool);
    jobs = new EmbeddedJobService(pool, config.stateDir);
  }
  app.decorate('jobs', jobs);
  app.addHook('onReady', async () => jobs.init());
  app.addHook('onClose', async () => jobs.close());
}, { name: 'pool', dependencies: ['sandbox'] });
