// The pool, its durable store and the git workspaces, as one plugin: decorates
// `app.pool`, loads queued jobs at start, stops agents on close.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { Workspaces } from '../git/workspace.js';
import { githubCommenter, type Commenter } from '../github/comments.js';
import { credentialSource } from '../github/credentials.js';
import { githubFinisher, type PrFinisher } from '../github/finish.js';
import { JobStore } from '../jobs/store.js';
import { Pool } from '../pool/pool.js';

declare module 'fastify' {
  interface FastifyInstance {
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
  const pool = new Pool({ config, store: new JobStore(config.stateDir), workspaces, credentials, log, commenter, finisher, version: opts.version, env: opts.env, sandbox: app.sandbox });
  app.decorate('pool', pool);
  app.addHook('onReady', async () => pool.init());
  app.addHook('onClose', async () => pool.close());
}, { name: 'pool', dependencies: ['sandbox'] });
