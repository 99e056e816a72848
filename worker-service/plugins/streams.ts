// Long-lived responses (GET /events, GET /jobs/:id/log) have bounds: at most
// KIRO_STREAM_MAX_PER_CALLER open at once per caller (429 above; github mode's admin is
// exempt), and each is closed once idle for KIRO_STREAM_IDLE_MS (the client reconnects and
// resumes, with Last-Event-ID or its byte offset, as it does after any cut).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { WorkerError } from '../errors.js';

export interface StreamLimits {
  /** Counts a new stream for the caller, or throws 429; the returned function releases it (once). */
  open(req: FastifyRequest): () => void;
  readonly idleMs: number;
  /** Open streams per caller key (diagnostics, tests). */
  readonly counts: ReadonlyMap<string, number>;
  /** Every open stream, exempt callers' too, by route pattern (the metrics' gauge). */
  readonly byRoute: ReadonlyMap<string, number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    streams: StreamLimits;
  }
}

/** Signed-in users by login; everyone else (token mode, unauthenticated) by address, like the rate limit. */
export const streamKeyOf = (req: FastifyRequest): string | null =>
  req.caller?.kind === 'admin' && req.caller.mode === 'github'
    ? null
    : req.caller?.kind === 'user'
      ? `user:${req.caller.login.toLowerCase()}`
      : `ip:${req.ip}`;

export default fp<{ config: WorkerConfig }>(
  async function streams(app: FastifyInstance, opts) {
    const { streamMaxPerCaller: max, streamIdleMs: idleMs } = opts.config;
    const counts = new Map<string, number>();
    const byRoute = new Map<string, number>();
    const add = (map: Map<string, number>, key: string, n: number) => {
      const now = (map.get(key) ?? 0) + n;
      if (now > 0) map.set(key, now);
      else map.delete(key);
    };
    app.decorate('streams', {
      idleMs,
      counts,
      byRoute,
      open(req: FastifyRequest) {
        const key = streamKeyOf(req);
        if (key !== null) {
          const n = counts.get(key) ?? 0;
          if (n >= max)
            throw new WorkerError(
              'TOO_MANY_STREAMS',
              `${n} event or log streams of yours are open on this host (at most ${max}, KIRO_STREAM_MAX_PER_CALLER); close one (a terminal, a window) and try again`,
              429,
            );
          add(counts, key, 1);
        }
        const route = req.routeOptions.url ?? '';
        add(byRoute, route, 1);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (key !== null) add(counts, key, -1);
          add(byRoute, route, -1);
        };
      },
    } satisfies StreamLimits);
  },
  { name: 'streams', dependencies: ['auth'] },
);
