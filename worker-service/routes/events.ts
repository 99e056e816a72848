// GET /events[?jobs=<id>,<id>]: job state changes and slot changes, live, as
// Server-Sent Events: a snapshot (or, with Last-Event-ID, exactly what was missed),
// then every change. The design and why no SSE plugin: docs/adr/0002-event-stream.md.
import { randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { ErrorBodySchema, type JobStatus, type PoolSlots } from '../../shared/protocol.js';
import { EventsQuerySchema, WorkerEventSchema, type WorkerEvent } from '../../shared/events.js';

export interface EventsOptions {
  /** Interval of the `: ping` comment; 15 s by default. */
  heartbeatMs?: number;
  /** Events kept for Last-Event-ID replay; 500 by default. */
  bufferSize?: number;
}

/** A client that reads slower than events come is cut off past this much unsent output; it reconnects and resumes. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

interface FeedEvent {
  id: number;
  /** null for slot events, which every connection gets. */
  jobId: string | null;
  /** A job event's job: whose it is, for a reader's filter. */
  job?: Pick<JobStatus, 'owner' | 'repo' | 'requestedBy'>;
  type: WorkerEvent['type'];
  /** The event as JSON: never a raw CR or LF in it, so always one `data:` line. */
  data: string;
}

/** Ids run from here up (16 digits, below 2^53: exact as JavaScript numbers). */
const FIRST_ID = 1e15;

function frame(e: FeedEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`;
}

/** The process's event sequence, the last `size` events of it, and who listens. */
export class EventFeed {
  private seq: number;
  /** Id of the newest event dropped from the buffer: a resume from below it would miss events. */
  private evictedUpTo: number;
  private readonly ring: FeedEvent[] = [];
  private readonly subscribers = new Set<(e: FeedEvent) => void>();

  constructor(
    private readonly size: number,
    start = FIRST_ID + randomInt(0, 2 ** 48 - 1) * 16,
  ) {
    this.seq = start;
    this.evictedUpTo = start;
  }

  nextId(): number {
    return ++this.seq;
  }

  publish(jobId: string | null, event: WorkerEvent): void {
    const e: FeedEvent = {
      id: this.nextId(),
      jobId,
      type: event.type,
      data: JSON.stringify(event),
      ...(event.type === 'job' ? { job: event.job } : {}),
    };
    this.ring.push(e);
    if (this.ring.length > this.size) this.evictedUpTo = this.ring.shift()?.id ?? this.evictedUpTo;
    for (const fn of this.subscribers) fn(e);
  }

  /** The events after `lastId`, or null when some are no longer kept or the id is not from this process. */
  since(lastId: number): FeedEvent[] | null {
    if (lastId < this.evictedUpTo || lastId > this.seq) return null;
    return this.ring.filter((e) => e.id > lastId);
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The live event feed behind GET /events (exposed for tests and diagnostics). */
    eventFeed: EventFeed;
  }
}

function parseLastEventId(header: string | string[] | undefined): number | null {
  const v = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  return /^\d{1,16}$/.test(v) ? Number(v) : null;
}

const events: FastifyPluginAsyncTypebox<EventsOptions> = async (app, opts) => {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const jobs = app.jobs;
  const feed = new EventFeed(opts.bufferSize ?? 500);
  app.decorate('eventFeed', feed);

  // One pair of listeners for the whole process; connections subscribe to the feed.
  const onJob = (job: JobStatus) => feed.publish(job.jobId, { type: 'job', job });
  const onSlots = (pool: PoolSlots) => feed.publish(null, { type: 'slots', pool });
  jobs.on('job', onJob);
  jobs.on('slots', onSlots);

  const open = new Set<ServerResponse>();
  // Streams never end by themselves: end them, and their connections, so that app.close() does not wait for clients.
  app.addHook('preClose', async () => {
    for (const res of open) res.end(() => res.socket?.end());
  });
  app.addHook('onClose', async () => {
    jobs.off('job', onJob);
    jobs.off('slots', onSlots);
  });

  const response = {
    // Each `data:` line is one WorkerEvent; the stream never ends by itself.
    200: {
      description: 'Server-Sent Events: `id:`, `event:` (job or slots) and a `data:` line holding one WorkerEvent as JSON',
      content: { 'text/event-stream': { schema: WorkerEventSchema } },
    },
    '4xx': ErrorBodySchema,
  };
  app.get('/events', { schema: { querystring: EventsQuerySchema, response } }, async (req, reply) => {
    const wanted = req.query.jobs === undefined ? null : new Set(req.query.jobs.split(',').filter(Boolean));
    const matches = (e: FeedEvent) => e.jobId === null || wanted === null || wanted.has(e.jobId);
    // Only the jobs this caller may read (identity/guard.ts); slot events name only those jobs.
    const mayRead = app.guard.readFilter(req.caller);
    const everything = req.caller?.kind === 'admin';
    const shown = new Set<string>();
    const visible = async (e: FeedEvent): Promise<string | null> => {
      if (everything) return e.data;
      if (e.jobId !== null) {
        if (!e.job || !(await mayRead(e.job))) return null;
        shown.add(e.jobId);
        return e.data;
      }
      const event = JSON.parse(e.data) as WorkerEvent;
      if (event.type !== 'slots') return e.data;
      const slots = event.pool.slots.map((slot) => (slot.jobId && !shown.has(slot.jobId) ? { ...slot, jobId: null } : slot));
      return JSON.stringify({ ...event, pool: { ...event.pool, slots } } satisfies WorkerEvent);
    };

    // Counted before the response starts: a caller over the limit gets a plain 429.
    const release = app.streams.open(req);
    reply.hijack();
    const res = reply.raw;
    const inherited = Object.fromEntries(Object.entries(reply.getHeaders()).filter(([, v]) => v !== undefined)) as Record<
      string,
      string | number | string[]
    >;
    res.writeHead(200, {
      ...inherited,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      'x-content-type-options': 'nosniff',
      // nginx and similar proxies would otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    req.raw.socket.setNoDelay(true);
    // Quiet this long (pings aside): closed; the client comes back with Last-Event-ID.
    let idle = setTimeout(() => res.end(), app.streams.idleMs);
    const write = (chunk: string) => {
      if (res.destroyed || res.writableEnded) return;
      if (!chunk.startsWith(':')) {
        clearTimeout(idle);
        idle = setTimeout(() => res.end(), app.streams.idleMs);
      }
      res.write(chunk);
      if (res.writableLength > MAX_UNSENT_BYTES) {
        req.log.warn({ unsent: res.writableLength }, 'event stream client too slow; closing its connection');
        res.destroy();
      }
    };

    const lastId = parseLastEventId(req.headers['last-event-id']);
    const missed = lastId === null ? null : feed.since(lastId);
    /**
     * Snapshot payloads, until the job's next event. A job's state is set before it is
     * stored and announced, so a snapshot taken in between already shows the state that
     * the next event brings again: that event is then no change and is not sent.
     */
    const sentInSnapshot = new Map<string, string>();
    const deliverNow = async (e: FeedEvent) => {
      if (!matches(e)) return;
      const data = await visible(e);
      if (data === null) return;
      if (e.jobId !== null && sentInSnapshot.has(e.jobId)) {
        const same = sentInSnapshot.get(e.jobId) === data;
        sentInSnapshot.delete(e.jobId);
        if (same) return;
      }
      write(frame({ ...e, data }));
    };
    // A permission question may take a round trip: events still go out in their order.
    let order: Promise<void> = Promise.resolve();
    const deliver = (e: FeedEvent) => {
      order = order.then(() => deliverNow(e)).catch((err: unknown) => req.log.warn({ err: String(err) }, 'event not delivered'));
    };
    // Subscribed before the snapshot is read (which may take a round trip to Redis):
    // what happens meanwhile is held and sent after it, so nothing falls in between.
    let held: FeedEvent[] | null = [];
    const unsubscribe = feed.subscribe((e) => (held ? held.push(e) : deliver(e)));
    if (missed) {
      for (const e of missed) deliver(e);
    } else {
      try {
        const [statuses, slots] = await Promise.all([
          wanted === null ? jobs.unfinished() : Promise.all([...wanted].map((id) => jobs.status(id))),
          jobs.slots(),
        ]);
        for (const job of statuses) {
          if (!job || !(everything || (await mayRead(job)))) continue;
          shown.add(job.jobId);
          const data = JSON.stringify({ type: 'job', job } satisfies WorkerEvent);
          sentInSnapshot.set(job.jobId, data);
          write(frame({ id: feed.nextId(), jobId: job.jobId, type: 'job', data }));
        }
        const slotsEvent: FeedEvent = {
          id: feed.nextId(),
          jobId: null,
          type: 'slots',
          data: JSON.stringify({ type: 'slots', pool: slots } satisfies WorkerEvent),
        };
        write(frame({ ...slotsEvent, data: (await visible(slotsEvent)) ?? slotsEvent.data }));
      } catch (e) {
        // The queue is out of reach (Redis down): the client reconnects and gets a snapshot then.
        req.log.warn({ err: String(e) }, 'event stream snapshot failed; closing');
        unsubscribe();
        clearTimeout(idle);
        release();
        res.end();
        return;
      }
    }
    for (const e of held) deliver(e);
    held = null;
    const heartbeat = setInterval(() => write(': ping\n\n'), heartbeatMs);
    open.add(res);
    const stop = () => {
      clearInterval(heartbeat);
      clearTimeout(idle);
      unsubscribe();
      open.delete(res);
      release();
    };
    res.on('close', stop);
    // Gone before we got here (its 'close' already emitted): nothing would call stop.
    if (res.closed || req.raw.socket.destroyed) stop();
  });
};

// Wrapped so that `eventFeed` decorates the app itself (the route and hooks are the same either way).
export default fp(events, { name: 'events', dependencies: ['pool', 'guard', 'streams'] });
