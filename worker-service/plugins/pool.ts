// The jobs and where they queue, as one plugin: decorates `app.jobs` (what the routes
// use, queue/service.ts) — a single host's embedded durable queue (also `app.embeddedQueue`), or,
// with KIRO_REDIS_URL, this host's part of a fleet sharing a queue on Redis. Loads or
// joins the queue at start, stops agents on close.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { Workspaces } from '../git/workspace.js';
import { githubCommenter, type Commenter } from '../github/comments.js';
import { credentialSource, type CredentialSource } from '../github/credentials.js';
import { GitHubFacts } from '../identity/githubFacts.js';
import { githubFinisher, type PrFinisher } from '../github/finish.js';
import { DAY_MS, SWEEP_EVERY_MS } from '../jobs/retention.js';
import { JobStore } from '../queue/embedded/store.js';
import { FleetJobService } from '../queue/fleet/fleetService.js';
import { EmbeddedJobService } from '../queue/embedded/embeddedService.js';
import { EmbeddedQueue } from '../queue/embedded/embeddedQueue.js';
import type { JobService } from '../queue/service.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobService;
    githubFacts: GitHubFacts;
    /** Where jobs (and the worker's own work on GitHub) get their GitHub credential. */
    credentials: CredentialSource;
    /** The embedded queue of a single host; absent in a fleet (use `jobs`, whichever queue is behind it). */
    embeddedQueue?: EmbeddedQueue;
  }
}

export interface PoolPluginOptions {
  config: WorkerConfig;
  version: string;
  commenter?: Commenter;
  finisher?: PrFinisher;
  env?: NodeJS.ProcessEnv;
}

export default fp<PoolPluginOptions>(
  async function poolPlugin(app: FastifyInstance, opts) {
    const { config } = opts;
    const log = app.log.child({ part: 'pool' });
    const workspaces = new Workspaces(config.stateDir, config.gitBaseUrl);
    const credentials = credentialSource(config, { log });
    const commenter = opts.commenter ?? (credentials.kind !== 'none' ? githubCommenter(config.githubApiUrl) : undefined);
    const finisher = opts.finisher ?? (credentials.kind !== 'none' ? githubFinisher(config.githubApiUrl) : undefined);
    // One source of GitHub facts for the pre-push check and the routes' authorization (plugins/guard.ts).
    const facts = new GitHubFacts(config.githubApiUrl, credentials);
    app.decorate('githubFacts', facts);
    app.decorate('credentials', credentials);
    const hostDeps = {
      config,
      workspaces,
      credentials,
      log,
      commenter,
      finisher,
      version: opts.version,
      env: opts.env,
      sandbox: app.sandbox,
      facts,
    };
    let jobs: JobService;
    if (config.fleet) {
      jobs = new FleetJobService(hostDeps, config.fleet);
    } else {
      const queue = new EmbeddedQueue({ ...hostDeps, store: new JobStore(config.stateDir) });
      app.decorate('embeddedQueue', queue);
      jobs = new EmbeddedJobService(queue, config.stateDir);
    }
    app.decorate('jobs', jobs);
    // Retention: at start, then every hour; said in the log when anything went.
    const sweep = async () => {
      const removed = await jobs.sweep(Date.now() - config.retentionDays * DAY_MS).catch((e: unknown) => {
        log.warn({ err: String(e) }, 'retention sweep failed; trying again within the hour');
        return 0;
      });
      if (removed > 0)
        log.info(
          { removed, retentionDays: config.retentionDays },
          `retention: removed ${removed} finished jobs older than ${config.retentionDays} days (KIRO_JOB_RETENTION_DAYS)`,
        );
    };
    let sweeper: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      await jobs.init();
      await sweep();
      sweeper = setInterval(() => void sweep(), SWEEP_EVERY_MS);
      sweeper.unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(sweeper);
      await jobs.close();
    });
  },
  { name: 'pool', dependencies: ['sandbox'] },
);
