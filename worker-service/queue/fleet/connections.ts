// A fleet host's connections to Redis, each for one kind of work so that none waits behind
// another, and what they report: one log line when Redis goes away and one when it is
// back (not one per retry), and malformed input read from it at most once per
// DROP_LOG_MS per kind, with a count.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Redis, type RedisOptions } from 'ioredis';
import type { FleetConfig } from '../../config.js';
import { QueueFullError, WorkerError } from '../../errors.js';

/** Malformed input from Redis is logged at most this often per kind (with how many were dropped meanwhile). */
const DROP_LOG_MS = 10_000;

export class FleetConnections {
  /** Requests: fails at once while Redis is away (no offline queue), so a client gets 503, never a hang. */
  readonly cmd: Redis;
  /** Write-behind: waits for Redis to come back. */
  readonly writer: Redis;
  /** Given over to the pub/sub subscription (bus.ts). */
  readonly sub: Redis;
  /** The branch locks' own connection: their renewals never wait behind a backlog of log bytes. */
  readonly locks: Redis;
  /** Per kind of malformed input from Redis: when it was last logged, and how many since. */
  private readonly drops = new Map<string, { at: number; count: number }>();

  /** `onDown`: a connection lost Redis (once per outage, for the metrics). */
  constructor(
    private readonly fleet: FleetConfig,
    private readonly log: Logger,
    private readonly onDown?: (connection: string) => void,
  ) {
    this.cmd = this.connect('cmd', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.writer = this.connect('writer', { maxRetriesPerRequest: null });
    this.sub = this.connect('sub', { maxRetriesPerRequest: null });
    this.locks = this.connect('locks', { maxRetriesPerRequest: null });
  }

  private connect(name: string, opts: RedisOptions): Redis {
    const r = new Redis(this.fleet.redisUrl, { connectionName: `kiro-${name}-${this.fleet.workerId}`, ...opts });
    let down = false;
    r.on('error', (e: Error) => {
      if (!down) {
        this.log.warn({ conn: name, err: e.message }, 'Redis unreachable; retrying');
        this.onDown?.(name);
      }
      down = true;
    });
    r.on('ready', () => {
      if (down) this.log.info({ conn: name }, 'Redis reachable again');
      down = false;
    });
    return r;
  }

  /** Malformed input read from Redis: dropped, and logged (at most once per DROP_LOG_MS per kind, with a count). */
  dropped(what: string, problem: string, id?: string): void {
    const now = Date.now();
    const seen = this.drops.get(what) ?? { at: 0, count: 0 };
    seen.count += 1;
    this.drops.set(what, seen);
    if (now - seen.at < DROP_LOG_MS) return;
    this.log.warn(
      { problem, dropped: seen.count, ...(id !== undefined ? { jobId: id.slice(0, 100) } : {}) },
      `dropped a malformed ${what} read from Redis`,
    );
    seen.at = now;
    seen.count = 0;
  }

  /** A write-behind write failed: a full Redis is said once per failure (the rest waits for Redis to come back). */
  writeFailed(e: unknown, op: string): void {
    if (/\bOOM\b|EXECABORT/.test((e as Error).message)) {
      this.log.error(
        { op },
        "Redis is full (maxmemory with noeviction): log bytes are dropped from the fleet's copy; give Redis more memory",
      );
    }
  }

  disconnect(): void {
    for (const r of [this.cmd, this.writer, this.sub, this.locks]) r.disconnect();
  }
}

/** What a client is told to wait when Redis is out of reach. */
const UNAVAILABLE_RETRY_S = 5;

/** Redis failed a request: the client hears 503 with Retry-After (never where Redis lives); the log gets the detail. */
export function unavailable(e: unknown, log?: Logger): never {
  if (WorkerError.is(e)) throw e;
  log?.warn({ err: (e as Error).message }, 'request failed: Redis unreachable');
  throw new QueueFullError(UNAVAILABLE_RETRY_S, 'the job queue (Redis) is out of reach; try again shortly', 'QUEUE_UNAVAILABLE');
}
