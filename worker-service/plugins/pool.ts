// The pool, its durable store and the git workspaces, as one plugin: decorates
// `app.pool`, loads queued jobs at start, stops agents on close.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { Workspaces } from '../git/workspace.js';
import { githubCommenter, type Commenter } from '../github/comments.js';
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
  env?: NodeJS.ProcessEnv;
}

export default fp<PoolPluginOptions>(async function poolPlugin(app: FastifyInstance, opts) {
  const { config } = opts;
  const workspaces = new Workspaces(config.stateDir, config.gitBaseUrl, { token: config.githubToken });
  const commenter = opts.commenter ?? (config.githubToken ? githubCommenter(config.githubApiUrl, config.githubToken) : undefined);
  const pool = new Pool({ config, store: new JobStore(config.stateDir), workspaces, log: app.log.child({ part: 'pool' }), commenter, version: opts.version, env: opts.env });
  app.decorate('pool', pool);
  app.addHook('onReady', async () => pool.init());
  app.addHook('onClose', async () => pool.close());
}, { name: 'pool' });
