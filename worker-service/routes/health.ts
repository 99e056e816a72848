// GET /healthz (liveness, no token, says nothing else) and GET /health (the pool,
// and this host's agent: its preset, whether it is installed, its version).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthzSchema, PoolHealthSchema } from '../../shared/protocol.js';
import { AgentHealth } from '../agent/health.js';
import type { WorkerConfig } from '../config.js';

export interface HealthOptions {
  config: WorkerConfig;
  /** The environment the agent is looked up in (its PATH) and drawn from. */
  env?: NodeJS.ProcessEnv;
}

const health: FastifyPluginAsyncTypebox<HealthOptions> = async (app, opts) => {
  const agent = new AgentHealth(opts.config, opts.env ?? process.env);
  const auth = opts.config.identity.mode;
  app.get('/healthz', { config: { rateLimit: false }, schema: { response: { 200: HealthzSchema } } }, async () => ({ ok: true, auth }));
  app.get('/health', { schema: { response: { 200: PoolHealthSchema } } }, async (req) => {
    const health = await app.jobs.health();
    // A busy slot names its job only to those who may read that job.
    const slots = req.caller?.kind === 'admin' ? health.slots : await Promise.all(health.slots.map(async (slot) => {
      const job = slot.jobId ? await app.jobs.status(slot.jobId).catch(() => undefined) : undefined;
      return slot.jobId && !(job && (await app.guard.mayRead(req.caller, job))) ? { ...slot, jobId: null } : slot;
    }));
    return { ...health, slots, auth, agent: await agent.report() };
  });
};

export default health;
