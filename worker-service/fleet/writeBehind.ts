// Writes to Redis in order, one at a time, retried until they land. A host keeps
// running its jobs while Redis is out of reach: their records and log bytes wait here
// and reach Redis, in the order they happened, once it is back. Log bytes of one job
// that queue up behind each other go as one APPEND.
import type { Redis } from 'ioredis';

type Op = { kind: 'write'; run: (redis: Redis) => Promise<unknown> } | { kind: 'log'; key: string; chunks: Buffer[] };

export class WriteBehind {
  private readonly ops: Op[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly redis: Redis, private readonly onError: (e: unknown) => void, private readonly logTtlS: number) {}

  write(run: (redis: Redis) => Promise<unknown>): void {
    this.ops.push({ kind: 'write', run });
    this.kick();
  }

  append(key: string, bytes: Buffer): void {
    const last = this.ops.at(-1);
    // Not the op being written now (index 0 while running): only ones still waiting are merged.
    if (last && last.kind === 'log' && last.key === key && (this.ops.length > 1 || !this.running)) last.chunks.push(bytes);
    else this.ops.push({ kind: 'log', key, chunks: [bytes] });
    this.kick();
  }

  get pending(): number {
    return this.ops.length;
  }

  /** Resolves once everything queued so far has landed, or after `ms`; true if it landed. */
  idle(ms: number): Promise<boolean> {
    if (this.ops.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
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

  private async drain(): Promise<void> {
    let backoff = 100;
    while (this.ops.length > 0 && !this.closed) {
      const op = this.ops[0];
      if (!op) break;
      try {
        if (op.kind === 'write') await op.run(this.redis);
        else await this.redis.multi().append(op.key, Buffer.concat(op.chunks)).expire(op.key, this.logTtlS).exec();
        this.ops.shift();
        backoff = 100;
      } catch (e) {
        this.onError(e);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2000, backoff * 2);
      }
    }
    this.running = false;
    if (this.ops.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
