// Authorization as one plugin: decorates `app.guard` (identity/guard.ts), which every route
// asks, over the cached source of GitHub facts the pool plugin made (the worker's own credential).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { Guard } from '../identity/guard.js';

declare module 'fastify' {
  interface FastifyInstance {
    guard: Guard;
  }
}

export default fp<{ config: WorkerConfig }>(
  async function guardPlugin(app: FastifyInstance, opts) {
    const { config } = opts;
    const log = app.log.child({ part: 'guard' });
    const facts = app.githubFacts;
    if (!facts.available)
      log.warn('no GitHub credential: pull requests are not checked before a job is queued (nor can the worker push to GitHub)');
    app.decorate('guard', new Guard(config.identity, facts, app.jobs, app.jobs.audit, log));
  },
  { name: 'guard', dependencies: ['pool', 'auth'] },
);
