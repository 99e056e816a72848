// GET /healthz (liveness, no token, says nothing else) and GET /health (the pool,
// and this host's agent: its preset, whether it is installed, its version).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { PoolHealthSchema } from '../../shared/protocol.js';
import { AgentHealth } from '../agent/health.js';
import type { WorkerConfig } from '../config.js';

export interface HealthOptions {
  config: WorkerConfig;
  /** The environment the agent is looked up in (its PATH) and drawn from. */
  env?: NodeJS.ProcessEnv;
}

const health: FastifyPluginAsyncTypebox<HealthOptions> = async (app, opts) => {
  const agent = new AgentHealth(opts.config, opts.env ?? process.env);
  app.get('/healthz', { config: { rateLimit: false }, schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true }));
  app.get('/health', { schema: { response: { 200: PoolHealthSchema } } }, async () => ({ ...(await app.jobs.health()), agent: await agent.report() }));
};

export default health;
