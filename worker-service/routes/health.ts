// GET /healthz (liveness, no token, says nothing else) and GET /health (the pool).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { PoolHealthSchema } from '../../shared/protocol.js';

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { config: { rateLimit: false }, schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true }));
  app.get('/health', { schema: { response: { 200: PoolHealthSchema } } }, async () => app.pool.health());
};

export default health;
