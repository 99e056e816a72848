// buildApp(config): the worker service's Fastify instance with every plugin
// registered explicitly. It never listens; server.ts does.
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { missingKey } from './agent/presets.js';
import { ConfigError, type WorkerConfig } from './config.js';
import type { Commenter } from './github/comments.js';
import authPlugin from './plugins/auth.js';
import guardPlugin from './plugins/guard.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import streamsPlugin from './plugins/streams.js';
import steeringPlugin from './steering/plugin.js';
import auditRoutes from './routes/audit.js';
import authRoutes from './routes/auth.js';
import errorsPlugin from './plugins/errors.js';
import poolPlugin from './plugins/pool.js';
import sandboxPlugin from './plugins/sandbox.js';
import eventRoutes, { type EventsOptions } from './routes/events.js';
import generateCodeRoutes from './routes/generateCode.js';
import healthRoutes from './routes/health.js';
import jobRoutes from './routes/jobs.js';
import { VERSION } from './version.js';

export interface BuildAppOptions {
  /** pino options or false; tests pass false. */
  logger?: boolean | object;
  commenter?: Commenter;
  /** Environment the agent's allow-list draws from. */
  env?: NodeJS.ProcessEnv;
  /** GET /events: heartbeat interval and replay buffer (tests shorten the heartbeat). */
  events?: EventsOptions;
}

export async function buildApp(config: WorkerConfig, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  // A preset whose key the agent would not get: refused here, before any job fails for it.
  const noKey = missingKey(config.agentPreset, config.agentKeyVar, opts.env ?? process.env);
  if (noKey) throw new ConfigError(noKey.variable, noKey.message);
  const app = Fastify({
    // Whatever the logger, the Authorization header is never written (tests pass their own stream).
    logger:
      opts.logger === false
        ? false
        : {
            level: config.logLevel,
            ...(typeof opts.logger === 'object' ? opts.logger : {}),
            redact: ['req.headers.authorization', 'headers.authorization'],
          },
    bodyLimit: config.bodyLimitBytes,
    // On close, connections a client opened and never used (fetch keeps a spare) must not hold shutdown for a minute.
    forceCloseConnections: true,
    // Types are not coerced and unknown fields are refused, so "7" is not a PR number.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Behind N load balancers (KIRO_TRUST_PROXY=N): the address the outermost saw, from the right
    // of X-Forwarded-For; never `true`, which would take the left-most entry, the client's own words.
    trustProxy: config.identity.trustProxy > 0 ? (_address: string, hop: number) => hop < config.identity.trustProxy : false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text body is refused as 415 rather than parsed into a string.
  app.removeContentTypeParser('text/plain');
  await app.register(errorsPlugin);
  // Who is asking is known first (an app hook); the limit, a route hook, runs after it and
  // counts per signed-in login, or per client address for everyone else, so a flood of
  // unauthenticated requests never empties a user's bucket. github mode's admin is exempt.
  await app.register(authPlugin, { config });
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.caller?.kind === 'user' ? `user:${req.caller.login.toLowerCase()}` : `ip:${req.ip}`),
    allowList: (req) => req.caller?.kind === 'admin' && req.caller.mode === 'github',
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });
  // Before every route: the description collects them as they are added.
  await app.register(openapiPlugin, { config });
  await app.register(sandboxPlugin, { config });
  await app.register(poolPlugin, { config, version: VERSION, commenter: opts.commenter, env: opts.env });
  await app.register(guardPlugin, { config });
  await app.register(streamsPlugin, { config });
  await app.register(steeringPlugin, { config });
  await app.register(metricsPlugin, { config });
  await app.register(healthRoutes, { config, env: opts.env });
  await app.register(generateCodeRoutes, { allowlist: config.repoAllowlist });
  await app.register(jobRoutes);
  await app.register(authRoutes);
  await app.register(auditRoutes);
  await app.register(eventRoutes, opts.events ?? {});
  return app;
}
