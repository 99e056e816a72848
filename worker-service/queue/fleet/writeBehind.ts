// Writes to Redis in order, one at a time, retried until they land. A host keeps
// running its jobs while Redis is out of reach: their records and log bytes wait here
// and reach Redis, in the order they happened, once it is back. Log bytes of one job
// that queue up behind each other go as one APPEND, announced (the job's id) to every
// host's log readers.
import type { Redis } from 'ioredis';
import { channels, jobOfLogKey } from './keys.js';

type Op = { seq: number } & ({ kind: 'write'; run: (redis: Redis) => Promise<unknown> } | { kind: 'log'; key: string; chunks: Buffer[] });

export class WriteBehind {
  private readonly ops: Op[] = [];
  private running = false;
  /** Ops queued so far, and the sequence number of the last one that landed (or was given up). */
  private queued = 0;
  private landed = 0;
  private waiters: Array<{ upTo: number; done: () => void }> = [];
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly onError: (e: unknown, op: 'write' | 'log') => void,
    private readonly logTtlS: number,
  ) {}

  write(run: (redis: Redis) => Promise<unknown>): void {
    this.ops.push({ seq: ++this.queued, kind: 'write', run });
    this.kick();
  }

  append(key: string, bytes: Buffer): void {
    const last = this.ops.at(-1);
    // Not the op being written now (index 0 while running): only ones still waiting are merged.
    if (last && last.kind === 'log' && last.key === key && (this.ops.length > 1 || !this.running)) {
      last.chunks.push(bytes);
      last.seq = ++this.queued;
    } else this.ops.push({ seq: ++this.queued, kind: 'log', key, chunks: [bytes] });
    this.kick();
  }

  get pending(): number {
    return this.ops.length;
  }

  /**
   * Resolves once everything queued before this call has landed (later writes, say another
   * job's log, do not hold it), or after `ms`; true if it landed.
   */
  flushed(ms: number): Promise<boolean> {
    const upTo = this.queued;
    if (this.landed >= upTo) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        upTo,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.closed = true;
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.drain();
  }

  private settle(seq: number): void {
    this.landed = seq;
    const ready = this.waiters.filter((w) => w.upTo <= seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.upTo > seq);
    for (const w of ready) w.done();
  }

  private async drain(): Promise<void> {
    let backoff = 100;
    while (this.ops.length > 0 && !this.closed) {
      const op = this.ops[0];
      if (!op) break;
      try {
        if (op.kind === 'write') await op.run(this.redis);
        else
          await this.redis
            .multi()
            .append(op.key, Buffer.concat(op.chunks))
            .expire(op.key, this.logTtlS)
            .publish(channels.logs, jobOfLogKey(op.key))
            .exec();
        this.ops.shift();
        this.settle(op.seq);
        backoff = 100;
      } catch (e) {
        this.onError(e, op.kind);
        // A full Redis (noeviction) refuses writes: log bytes are given up rather than hold the records behind them.
        if (op.kind === 'log' && /\bOOM\b|EXECABORT/.test((e as Error).message)) {
          this.ops.shift();
          this.settle(op.seq);
          continue;
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2000, backoff * 2);
      }
    }
    this.running = false;
  }
}
