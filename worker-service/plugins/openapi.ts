// The worker's API description, generated from the TypeBox schemas every route declares:
// OpenAPI 3 at GET /openapi.json and a browsable UI at /docs. Both need a credential like
// any route, unless the operator sets KIRO_PUBLIC_DOCS=1 (plugins/auth.ts reads isDocsRoute).
// Registered before the routes: @fastify/swagger collects them as they are added.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { WorkerConfig } from '../config.js';
import { PUBLIC_ROUTES } from './publicRoutes.js';
import { VERSION } from '../version.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A body the description shows, for a route that reads raw bytes rather than validating a schema. */
    describedBody?: Record<string, unknown>;
  }
}

/** The description's own routes and the UI's: not part of what they describe. */
export function isDocsRoute(url: string): boolean {
  return url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/');
}

const openapi: FastifyPluginAsync<{ config: WorkerConfig }> = async (app, { config }) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kiro Delegate worker',
        version: VERSION,
        description:
          'Runs AI coding agents in sandboxes and pushes their commits to pull requests. Errors are `{code, message}`; codes are listed in shared/errorCodes.ts.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'KIRO_WORKER_TOKEN; with KIRO_AUTH=github also a session from POST /auth/github. GET /metrics also takes KIRO_METRICS_TOKEN.',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    // Routes that take no credential say so.
    transform: ({ schema, url, route }) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const open = methods.some((m) => PUBLIC_ROUTES.has(`${m} ${url}`));
      const body = route.config?.describedBody;
      return { schema: { ...schema, ...(body ? { body } : {}), ...(open ? { security: [] } : {}) }, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (config.publicDocs) app.log.info('KIRO_PUBLIC_DOCS=1: /openapi.json and /docs are served without a credential');
};

export default fp(openapi, { name: 'openapi' });
