// A fleet's job records in Redis: one JSON record per job (the fleet's answer to
// GET /jobs/:id) and the set of jobs not yet final. Creating a record is one SET NX,
// so concurrent submits of one idempotency key on several hosts make one job; saving
// one is a script that refuses to write over a later attempt's record (a host that
// lost its lock must not overwrite the run that took the job over). Every record read
// back is checked (validate.ts): one that fails is reported and read as no record at all.
import type { Redis } from 'ioredis';
import { isFinalState, type GenerateCodeRequest } from '../../../shared/protocol.js';
import type { Job } from '../../jobs/job.js';
import { channels, keys, RECORD_TTL_S } from './keys.js';
import { checkRecord, type Checked } from './validate.js';
import type { WriteBehind } from './writeBehind.js';

// KEYS: record, open set, cancel flag; ARGV: record, attempts, ttl, final, created ms, id, channel, event, force.
const SAVE_RECORD = `local cur = redis.call('get', KEYS[1])
if cur and ARGV[9] ~= '1' then local ok, c = pcall(cjson.decode, cur) if ok and type(c) == 'table' and tonumber(c.attempts or 0) > tonumber(ARGV[2]) then return 0 end end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[3])
if ARGV[4] == '1' then redis.call('zrem', KEYS[2], ARGV[6]) redis.call('del', KEYS[3]) else redis.call('zadd', KEYS[2], ARGV[5], ARGV[6]) end
redis.call('publish', ARGV[7], ARGV[8])
return 1`;

// Creates the record only if the job is new, and lists it as open and under its requester, in one step.
const CREATE_RECORD = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
redis.call('zadd', KEYS[2], ARGV[2], ARGV[4])
if ARGV[5] == '1' then redis.call('zadd', KEYS[3], ARGV[2], ARGV[4]) redis.call('expire', KEYS[3], ARGV[3]) end
return 1 end return 0`;

export function newJob(id: string, scopeKey: string, request: GenerateCodeRequest, createdAt = new Date().toISOString()): Job {
  return {
    id,
    scopeKey,
    request,
    state: 'queued',
    attempts: 0,
    slotId: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    signal: null,
    commitSha: null,
    error: null,
    outputTail: [],
  };
}

/** What reading a record found: none, a valid one, or one that failed its checks (and why). */
export type RecordRead = { kind: 'missing' } | { kind: 'ok'; job: Job } | { kind: 'invalid'; problem: string };

export class JobRecords {
  /**
   * `cmd` fails at once while Redis is away (requests answer 503); `writer` waits for it
   * (the processor); `writes` keeps saves in order behind the log bytes written before them;
   * `onInvalid` hears of every record read back that fails its checks.
   */
  constructor(
    private readonly cmd: Redis,
    private readonly writer: Redis,
    private readonly writes: WriteBehind,
    private readonly onInvalid: (id: string, problem: string) => void = () => undefined,
    /** A finished job's record lives this long after its last save (KIRO_JOB_RETENTION_DAYS). */
    private readonly finishedTtlS = RECORD_TTL_S,
  ) {}

  /** The records of `ids` that pass their checks (the others are reported, and skipped). */
  private valid(ids: string[], raws: (string | null)[]): Job[] {
    return raws.flatMap((raw, i) => {
      const id = ids[i] ?? '';
      if (raw === null) return [];
      const c: Checked<Job> = checkRecord(raw, id);
      if (!c.ok) this.onInvalid(id, c.problem);
      return c.ok ? [c.value] : [];
    });
  }

  /** Stores a new job's record and lists it as open; false when the id already has one. */
  async create(job: Job): Promise<boolean> {
    const login = job.request.requestedBy;
    return (
      (await this.cmd.eval(
        CREATE_RECORD,
        3,
        keys.job(job.id),
        keys.open,
        keys.byUser(login ?? ''),
        JSON.stringify(job),
        String(Date.parse(job.createdAt)),
        String(RECORD_TTL_S),
        job.id,
        login ? '1' : '0',
      )) === 1
    );
  }

  /** The jobs `login` asked for, newest first: up to `count` made at or before `maxMs` and since `minMs`. */
  async byRequester(login: string, maxMs: number, minMs: number, count: number): Promise<Job[]> {
    const ids = await this.cmd.zrevrangebyscore(keys.byUser(login), maxMs, minMs, 'LIMIT', 0, count);
    if (ids.length === 0) return [];
    return this.valid(ids, await this.cmd.mget(ids.map((id) => keys.job(id))));
  }

  /** Removes a record BullMQ never got (so a retry of the same key is a new submit). */
  async remove(id: string): Promise<void> {
    const login = (await this.get(id))?.request.requestedBy;
    const tx = this.cmd.multi().del(keys.job(id)).zrem(keys.open, id);
    if (login) tx.zrem(keys.byUser(login), id);
    await tx.exec();
  }

  /** A job's record and whether it passed its checks; `wait`: through the connection that waits for Redis (the processor), not the one that fails fast. */
  async read(id: string, wait = false): Promise<RecordRead> {
    const raw = await (wait ? this.writer : this.cmd).get(keys.job(id));
    if (raw === null) return { kind: 'missing' };
    const c = checkRecord(raw, id);
    if (c.ok) return { kind: 'ok', job: c.value };
    this.onInvalid(id, c.problem);
    return { kind: 'invalid', problem: c.problem };
  }

  /** A job's record, if it has one that passes its checks. */
  async get(id: string, wait = false): Promise<Job | undefined> {
    const r = await this.read(id, wait);
    return r.kind === 'ok' ? r.job : undefined;
  }

  /**
   * Queues the save (after every log byte queued before it), and `event` to every host with it.
   * `replace`: over whatever the key holds, even a record claiming later attempts (one that failed its checks).
   */
  save(job: Job, event: string, replace = false): void {
    const final = isFinalState(job.state) ? '1' : '0';
    this.writes.write((r) =>
      r.eval(
        SAVE_RECORD,
        3,
        keys.job(job.id),
        keys.open,
        keys.cancel(job.id),
        JSON.stringify(job),
        String(job.attempts),
        String(final === '1' ? this.finishedTtlS : RECORD_TTL_S),
        final,
        String(Date.parse(job.createdAt)),
        job.id,
        channels.events,
        event,
        replace ? '1' : '0',
      ),
    );
  }

  /** Every job not yet final, oldest first. */
  async open(): Promise<Job[]> {
    const ids = await this.cmd.zrange(keys.open, 0, -1);
    if (ids.length === 0) return [];
    return this.valid(ids, await this.cmd.mget(ids.map((id) => keys.job(id)))).filter((j) => !isFinalState(j.state));
  }

  /** Retention: the per-user lists lose entries made before `cutoffMs` (the records expire by themselves). */
  async pruneRequesterLists(cutoffMs: number): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = await this.cmd.scan(cursor, 'MATCH', keys.byUser('*'), 'COUNT', 500);
      cursor = next;
      for (const key of found) await this.cmd.zremrangebyscore(key, '-inf', `(${cutoffMs}`);
    } while (cursor !== '0');
  }
}
