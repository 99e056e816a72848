// Who is asking, on every request: the worker token's holder (compared in constant time),
// or, with KIRO_AUTH=github, a user with a session token (an HS256 JWT signed with
// KIRO_SESSION_SECRET, so every host of a fleet accepts every host's sessions). The caller
// is known in `onRequest`; the rate limit (a route hook, so it runs after) keys on it; and
// `preParsing` refuses what has no caller, so an unauthenticated body is never parsed.
// No token is ever logged: the logger redacts the header; log lines carry the caller's name.
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { callerName, type Caller } from '../identity/caller.js';
import { isDocsRoute } from './openapi.js';
import { PUBLIC_ROUTES } from './publicRoutes.js';

const digest = (s: string) => createHash('sha256').update(s).digest();
const ISSUER = 'kiro-delegate-worker';

export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Comparing fixed-length digests keeps the comparison constant-time whatever the lengths.
  return !!m?.[1] && timingSafeEqual(digest(m[1]), digest(expected));
}

const loopbackHosts = (port: number) => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

const bearerOf = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];

/** Routes that answer without a credential (publicRoutes.ts); GitHub's webhook deliveries carry an HMAC signature instead (steering/plugin.ts). */
const PUBLIC = PUBLIC_ROUTES;

/** Routes that check a credential of their own besides the caller: GET /metrics also takes KIRO_METRICS_TOKEN (plugins/metrics.ts). */
const OWN_CHECK = new Set(['GET /metrics']);

declare module 'fastify' {
  interface FastifyRequest {
    /** Undefined: nobody we know (refused before its body is read, except on PUBLIC routes). */
    caller?: Caller;
    /** Why a credential was not taken (an expired session, say): told in the 401. */
    authProblem?: string;
  }
  interface FastifyInstance {
    /** KIRO_AUTH=github: makes a session token for a verified login. */
    issueSession?: (login: string) => { token: string; expiresAt: string };
  }
}

export default fp<{ config: WorkerConfig }>(
  async function auth(app: FastifyInstance, opts) {
    const { token, identity } = opts.config;
    if (identity.mode === 'github' && identity.sessionSecret) {
      await app.register(jwt, {
        secret: identity.sessionSecret,
        sign: { algorithm: 'HS256', iss: ISSUER, expiresIn: identity.sessionTtlS * 1000 },
        verify: { algorithms: ['HS256'], allowedIss: ISSUER },
      });
      app.decorate('issueSession', (login: string) => {
        const signed = app.jwt.sign({ sub: login });
        const { exp } = app.jwt.decode<{ exp: number }>(signed) ?? { exp: Math.floor(Date.now() / 1000) + identity.sessionTtlS };
        return { token: signed, expiresAt: new Date(exp * 1000).toISOString() };
      });
    } else if (!token) {
      app.log.warn(
        'no KIRO_WORKER_TOKEN set: accepting unauthenticated requests (allowed on loopback only, for Host 127.0.0.1 or localhost)',
      );
      // Without a token, a web page could drive this worker through DNS rebinding (its name made to
      // point at 127.0.0.1): only requests addressed to loopback by name or number are served.
      app.addHook('onRequest', async (req, reply) => {
        const address = app.server.address();
        const port = address && typeof address === 'object' ? address.port : opts.config.port;
        if (!loopbackHosts(port).has((req.headers.host ?? '').toLowerCase())) {
          return reply.code(421).send({
            code: 'MISDIRECTED',
            message: 'this worker has no token and answers only requests addressed to http://127.0.0.1 or http://localhost with its port',
          });
        }
      });
    }

    const identify = (req: FastifyRequest): Caller | undefined => {
      if (identity.mode === 'token') {
        if (!token) return { kind: 'admin', mode: 'token' };
        return tokenMatches(token, req.headers.authorization) ? { kind: 'admin', mode: 'token' } : undefined;
      }
      if (token && tokenMatches(token, req.headers.authorization)) return { kind: 'admin', mode: 'github' };
      const bearer = bearerOf(req.headers.authorization);
      if (!bearer) return undefined;
      try {
        const claims = app.jwt.verify<{ sub?: unknown }>(bearer);
        if (typeof claims.sub === 'string' && claims.sub) return { kind: 'user', login: claims.sub };
        req.authProblem = 'the session token names nobody';
      } catch (e) {
        const code = (e as { code?: string }).code;
        req.authProblem =
          code === 'FAST_JWT_EXPIRED'
            ? 'your session has expired: sign in again (POST /auth/github)'
            : 'the session token is not valid here';
      }
      return undefined;
    };

    app.addHook('onRequest', async (req) => {
      req.caller = identify(req);
      req.log = req.log.child({ caller: callerName(req.caller) });
    });

    app.addHook('preParsing', async (req, reply) => {
      const route = `${req.method} ${req.routeOptions.url ?? ''}`;
      if (req.caller || PUBLIC.has(route) || OWN_CHECK.has(route) || (opts.config.publicDocs && isDocsRoute(req.routeOptions.url ?? '')))
        return;
      const how =
        identity.mode === 'github'
          ? 'Authorization: Bearer <a session from POST /auth/github, or KIRO_WORKER_TOKEN>'
          : 'Authorization: Bearer <KIRO_WORKER_TOKEN>';
      return reply
        .code(401)
        .header('www-authenticate', `Bearer realm="kiro-worker"`)
        .send({ code: 'UNAUTHORIZED', message: req.authProblem ?? `a valid bearer token is required (${how})` });
    });
  },
  { name: 'auth' },
);
