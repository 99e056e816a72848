// Who did what: one record per session exchange, submit, cancel and refusal. Each is a
// log line (`audit: true`) and kept durably where the queue keeps its state: a JSON-lines
// file in the state folder (one host) or a capped Redis stream (a fleet).
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Value } from 'typebox/value';
import { AuditRecordSchema, type AuditRecord } from '../../shared/audit.js';

export interface AuditStore {
  append(record: AuditRecord): Promise<void>;
  /** Records from `sinceMs` on, oldest first, at most `limit`. */
  since(sinceMs: number, limit: number): Promise<AuditRecord[]>;
}

const parsed = (text: string): AuditRecord | undefined => {
  try {
    const v: unknown = JSON.parse(text);
    return Value.Check(AuditRecordSchema, v) ? v : undefined;
  } catch {
    return undefined;
  }
};

/** `audit.jsonl` in the state folder: appended in order by this one process. */
export class FileAuditStore implements AuditStore {
  private tail: Promise<void> = Promise.resolve();
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'audit.jsonl');
  }

  append(record: AuditRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    this.tail = this.tail.then(() => appendFile(this.path, line, { mode: 0o600 }));
    return this.tail;
  }

  async since(sinceMs: number, limit: number): Promise<AuditRecord[]> {
    await this.tail.catch(() => undefined);
    const text = await readFile(this.path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
    const out: AuditRecord[] = [];
    for (const line of text.split('\n')) {
      const r = line ? parsed(line) : undefined;
      if (r && Date.parse(r.time) >= sinceMs) out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }
}

export const AUDIT_STREAM = 'kiro:audit';
/** The stream keeps about this many records (XADD MAXLEN ~). */
const STREAM_CAP = 1_000_000;

/**
 * A capped Redis stream; its entry ids are millisecond times, so `since` is one XRANGE.
 * Records are written through the fleet's ordered write-behind queue: a request is never
 * held by Redis being away, and its record lands once Redis is back.
 */
export class RedisAuditStore implements AuditStore {
  constructor(
    private readonly redis: Redis,
    private readonly enqueue: (run: (r: Redis) => Promise<unknown>) => void,
  ) {}

  async append(record: AuditRecord): Promise<void> {
    const entry = JSON.stringify(record);
    this.enqueue((r) => r.xadd(AUDIT_STREAM, 'MAXLEN', '~', String(STREAM_CAP), '*', 'r', entry));
  }

  async since(sinceMs: number, limit: number): Promise<AuditRecord[]> {
    const entries = await this.redis.xrange(AUDIT_STREAM, String(sinceMs), '+', 'COUNT', limit);
    return entries.map(([, fields]) => parsed(fields[1] ?? '')).filter((r): r is AuditRecord => r !== undefined);
  }
}
