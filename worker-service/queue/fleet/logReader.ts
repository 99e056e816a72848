// A fleet's log reader: the agent's output lives in Redis as one byte sequence over
// every attempt, whichever host ran it, so any host replays it from a byte offset and
// follows it live. The record turns final only after the last log bytes landed (one
// ordered write queue, writeBehind.ts), so a final record seen after an empty read
// means the log is complete.
import type { Redis } from 'ioredis';
import type { LogSink } from '../service.js';
import { keys } from './keys.js';

/**
 * A reader with nothing new waits for the bell (log bytes landed, or the job changed: both
 * come through pub/sub) and looks anyway this often, in case a message was missed; it reads
 * the job's state at most once a second.
 */
const SAFETY_POLL_MS = 5_000;
const STATE_POLL_MS = 1_000;
/** Redis away: the reader stays and resumes where it was. */
const OUTAGE_RETRY_MS = 500;
const CHUNK_BYTES = 256 * 1024;

/** One host's doorbell per job: rung when its log grew or it changed (pub/sub), waited on by its readers. */
export class LogBell {
  /** Rings so far of each job someone follows here, and how many follow it. */
  private readonly followed = new Map<string, { rings: number; readers: number; waiting: Set<() => void> }>();

  /** A reader starts following `id`; the returned function stops it. */
  follow(id: string): () => void {
    const f = this.followed.get(id) ?? { rings: 0, readers: 0, waiting: new Set() };
    f.readers += 1;
    this.followed.set(id, f);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      f.readers -= 1;
      if (f.readers === 0) this.followed.delete(id);
    };
  }

  ring(id: string): void {
    const f = this.followed.get(id);
    if (!f) return;
    f.rings += 1;
    const wakes = [...f.waiting];
    f.waiting.clear();
    for (const wake of wakes) wake();
  }

  /** How often `id` has rung so far: pass it to `wait` so a ring in between is not missed. */
  count(id: string): number {
    return this.followed.get(id)?.rings ?? 0;
  }

  /** Resolves at the next ring after `seen` rings (at once if one came meanwhile), after `ms`, or on `cancel`. */
  wait(id: string, seen: number, ms: number): { done: Promise<void>; cancel: () => void } {
    let cancel = () => {};
    const done = new Promise<void>((resolve) => {
      const f = this.followed.get(id);
      if (!f || f.rings !== seen) return resolve();
      const finish = () => {
        clearTimeout(timer);
        f.waiting.delete(finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      f.waiting.add(finish);
      cancel = finish;
    });
    return { done, cancel };
  }
}

/**
 * Replays job `id`'s log from `offset` into `sink`, then follows it until `ended()` says
 * the job is final (or gone). Returns a function that stops following.
 */
export function followRedisLog(
  redis: Redis,
  id: string,
  offset: number,
  sink: LogSink,
  ended: () => Promise<boolean>,
  bell: LogBell,
): () => void {
  let stopped = false;
  let wake: (() => void) | null = null;
  let pos = offset;
  let stateCheckedAt = 0;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const ringing = async (seen: number) => {
    const w = bell.wait(id, seen, SAFETY_POLL_MS);
    wake = w.cancel;
    await w.done;
  };
  const unfollow = bell.follow(id);
  const pump = async () => {
    while (!stopped) {
      try {
        const seen = bell.count(id);
        const chunk = await redis.getrangeBuffer(keys.log(id), pos, pos + CHUNK_BYTES - 1);
        if (chunk.length > 0) {
          sink.write(chunk);
          pos += chunk.length;
          // A client that reads slowly holds the reader, not memory.
          await sink.ready?.();
          continue;
        }
        // The record (large: the task, the output tail) is read at most once a second.
        if (Date.now() - stateCheckedAt < STATE_POLL_MS) {
          await ringing(seen);
          continue;
        }
        stateCheckedAt = Date.now();
        if (await ended()) {
          const rest = await redis.getrangeBuffer(keys.log(id), pos, -1);
          if (rest.length > 0 && !stopped) sink.write(rest);
          if (!stopped) sink.end();
          return;
        }
        await ringing(seen);
      } catch {
        await pause(OUTAGE_RETRY_MS);
      }
    }
  };
  void pump().finally(unfollow);
  return () => {
    stopped = true;
    wake?.();
  };
}
