// GET /events, the worker's live stream (Server-Sent Events): its events and its query.
import Type, { type Static } from 'typebox';
import { JobStatusSchema, PoolSlotsSchema } from './protocol.js';

/**
 * GET /events: one Server-Sent Event's `data`, a JSON object keyed on `type`; the SSE
 * `event:` name is the same `type`. A `job` event's `job` is exactly what GET /jobs/:id
 * answers at that moment.
 */
export const WORKER_EVENT_TYPES = ['job', 'slots'] as const;
export type WorkerEventType = (typeof WORKER_EVENT_TYPES)[number];
export const JobEventSchema = Type.Object({ type: Type.Literal('job'), job: JobStatusSchema });
export const SlotsEventSchema = Type.Object({ type: Type.Literal('slots'), pool: PoolSlotsSchema });
export const WorkerEventSchema = Type.Union([JobEventSchema, SlotsEventSchema]);
export type WorkerEvent = Static<typeof WorkerEventSchema>;

/** GET /events?jobs=<id>,<id>: without `jobs`, every job's events; `jobs=` (empty): slots only. */
export const EventsQuerySchema = Type.Object(
  { jobs: Type.Optional(Type.String({ maxLength: 8192, pattern: '^(?:[A-Za-z0-9_-]{1,64}(?:,[A-Za-z0-9_-]{1,64})*)?$' })) },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuerySchema>;
