// A fleet's log reader: the agent's output lives in Redis as one byte sequence over
// every attempt, whichever host ran it, so any host replays it from a byte offset and
// follows it live. The record turns final only after the last log bytes landed (one
// ordered write queue, writeBehind.ts), so a final record seen after an empty read
// means the log is complete.
import type { Redis } from 'ioredis';
import type { LogSink } from '../pool/service.js';
import { keys } from './keys.js';

/** How often the reader looks for new bytes while its job runs, and at the job's state at most. */
const LOG_POLL_MS = 100;
const STATE_POLL_MS = 1_000;
/** Redis away: the reader stays and resumes where it was. */
const OUTAGE_RETRY_MS = 500;
const CHUNK_BYTES = 256 * 1024;

/**
 * Replays job `id`'s log from `offset` into `sink`, then follows it until `ended()` says
 * the job is final (or gone). Returns a function that stops following.
 */
export function followRedisLog(redis: Redis, id: string, offset: number, sink: LogSink, ended: () => Promise<boolean>): () => void {
  let stopped = false;
  let wake: (() => void) | null = null;
  let pos = offset;
  let stateCheckedAt = 0;
  const pause = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const pump = async () => {
    while (!stopped) {
      try {
        const chunk = await redis.getrangeBuffer(keys.log(id), pos, pos + CHUNK_BYTES - 1);
        if (chunk.length > 0) {
          sink.write(chunk);
          pos += chunk.length;
          continue;
        }
        // The record (large: the task, the output tail) is read at most once a second.
        if (Date.now() - stateCheckedAt < STATE_POLL_MS) {
          await pause(LOG_POLL_MS);
          continue;
        }
        stateCheckedAt = Date.now();
        if (await ended()) {
          const rest = await redis.getrangeBuffer(keys.log(id), pos, -1);
          if (rest.length > 0 && !stopped) sink.write(rest);
          if (!stopped) sink.end();
          return;
        }
        await pause(LOG_POLL_MS);
      } catch {
        await pause(OUTAGE_RETRY_MS);
      }
    }
  };
  void pump();
  return () => {
    stopped = true;
    (wake as (() => void) | null)?.();
  };
}
