// The probes: GET /healthz (liveness, and how to authenticate) and GET /readyz, the readiness probe a load balancer or orchestrator asks (no credential):
// 200 while this host takes work; 503 while it drains, while its queue (Redis) is out of
// reach, or while its agents cannot be confined. It names no job. GET /healthz stays liveness.
import Type, { type Static } from 'typebox';

export const ReadyzSchema = Type.Object({
  ready: Type.Boolean(),
  /** When not ready: DRAINING, QUEUE_UNAVAILABLE or SANDBOX_UNAVAILABLE (shared/errorCodes.ts). */
  code: Type.Optional(Type.String()),
  /** When not ready: why, and what to do. */
  message: Type.Optional(Type.String()),
});
export type Readyz = Static<typeof ReadyzSchema>;

/** GET /healthz, the one route without a credential: alive, and how to authenticate (so a client knows whether to exchange a session first). */
export const HealthzSchema = Type.Object({
  ok: Type.Boolean(),
  auth: Type.Optional(Type.Unsafe<'token' | 'github'>({ type: 'string', enum: ['token', 'github'] })),
});
export type Healthz = Static<typeof HealthzSchema>;
