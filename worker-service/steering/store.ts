// What steering keeps: which deliveries were seen (X-GitHub-Delivery, so a redelivery does
// nothing twice), and for each job it started, where GitHub is to hear of it (the reactions'
// targets, the check run or status, the review threads). On one host: files under the state
// directory (a delivery is claimed by an O_EXCL create, atomic on one file system); in a fleet:
// Redis (SET NX), so a delivery to any host is claimed once. Read back, a record is checked
// against its schema: Redis and disk are input.
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import writeFileAtomic from 'write-file-atomic';

const DELIVERY_TTL_S = 7 * 86_400;
const RECORD_TTL_S = 30 * 86_400;
const Id = Type.Integer({ minimum: 1 });
const Login = Type.String({ pattern: '^[A-Za-z0-9-]{1,39}(\\[bot\\])?$' });

export const SteeredJobSchema = Type.Object({
  jobId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  deliveryId: Type.String({ maxLength: 64 }),
  kind: Type.Union([Type.Literal('pr-comment'), Type.Literal('review'), Type.Literal('issue')]),
  owner: Type.String({ maxLength: 39 }),
  repo: Type.String({ maxLength: 100 }),
  prNumber: Id,
  login: Login,
  /** Who delegated the PR first (its author), when not the requester: their view lists the round too. */
  delegatedBy: Type.Union([Login, Type.Null()]),
  reactTo: Type.Array(
    Type.Object({ kind: Type.Union([Type.Literal('issue-comment'), Type.Literal('review-comment'), Type.Literal('issue')]), id: Id }),
    { maxItems: 300 },
  ),
  check: Type.Union([
    Type.Object({ kind: Type.Literal('check-run'), id: Id, sha: Type.String({ pattern: '^[0-9a-f]{40}$' }) }),
    Type.Object({ kind: Type.Literal('status'), sha: Type.String({ pattern: '^[0-9a-f]{40}$' }) }),
    Type.Null(),
  ]),
  threads: Type.Array(Type.Object({ commentId: Id, url: Type.String({ maxLength: 500 }) }), { maxItems: 300 }),
  startedTold: Type.Boolean(),
  finishedTold: Type.Boolean(),
  createdAt: Type.Integer({ minimum: 0 }),
});
export type SteeredJob = Static<typeof SteeredJobSchema>;

export const isDeliveryId = (id: string) => /^[A-Za-z0-9-]{1,64}$/.test(id);

export interface SteeringStore {
  /** true the first time `id` is claimed, on any host; false for a redelivery. */
  claimDelivery(id: string): Promise<boolean>;
  /** A claimed delivery that did nothing after all (it failed before queueing): GitHub may redeliver it. */
  releaseDelivery(id: string): Promise<void>;
  save(job: SteeredJob): Promise<void>;
  get(jobId: string): Promise<SteeredJob | undefined>;
  /** Ids of the jobs started on pull requests `login` delegated (newest first, at most `limit`). */
  delegatedTo(login: string, limit: number): Promise<string[]>;
}

const parse = (text: string | null): SteeredJob | undefined => {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Value.Check(SteeredJobSchema, v) ? v : undefined;
  } catch {
    return undefined;
  }
};

export class FileSteeringStore implements SteeringStore {
  private readonly deliveries: string;
  private readonly jobs: string;

  constructor(stateDir: string) {
    this.deliveries = join(stateDir, 'steering', 'deliveries');
    this.jobs = join(stateDir, 'steering', 'jobs');
  }

  async init(): Promise<void> {
    await mkdir(this.deliveries, { recursive: true, mode: 0o700 });
    await mkdir(this.jobs, { recursive: true, mode: 0o700 });
    // Deliveries older than GitHub's redelivery window are forgotten.
    const cutoff = Date.now() - DELIVERY_TTL_S * 1000;
    for (const name of await readdir(this.deliveries)) {
      const p = join(this.deliveries, name);
      const s = await stat(p).catch(() => undefined);
      if (s && s.mtimeMs < cutoff) await unlink(p).catch(() => undefined);
    }
  }

  async claimDelivery(id: string): Promise<boolean> {
    if (!isDeliveryId(id)) return false;
    return writeFile(join(this.deliveries, id), '', { flag: 'wx' }).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return false;
        throw e;
      },
    );
  }

  async releaseDelivery(id: string): Promise<void> {
    if (isDeliveryId(id)) await unlink(join(this.deliveries, id)).catch(() => undefined);
  }

  async save(job: SteeredJob): Promise<void> {
    await writeFileAtomic(join(this.jobs, `${job.jobId}.json`), JSON.stringify(job), { mode: 0o600 });
  }

  async get(jobId: string): Promise<SteeredJob | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(jobId)) return undefined;
    return parse(await readFile(join(this.jobs, `${jobId}.json`), 'utf8').catch(() => null));
  }

  async delegatedTo(login: string, limit: number): Promise<string[]> {
    const all = await Promise.all((await readdir(this.jobs)).filter((n) => n.endsWith('.json')).map((n) => this.get(n.slice(0, -5))));
    return all
      .filter((j): j is SteeredJob => !!j && j.delegatedBy?.toLowerCase() === login.toLowerCase())
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit)
      .map((j) => j.jobId);
  }
}

export class RedisSteeringStore implements SteeringStore {
  constructor(private readonly redis: Redis) {}

  async claimDelivery(id: string): Promise<boolean> {
    if (!isDeliveryId(id)) return false;
    return (await this.redis.set(`kiro:delivery:${id}`, '1', 'EX', DELIVERY_TTL_S, 'NX')) === 'OK';
  }

  async releaseDelivery(id: string): Promise<void> {
    if (isDeliveryId(id)) await this.redis.del(`kiro:delivery:${id}`);
  }

  async save(job: SteeredJob): Promise<void> {
    const m = this.redis.multi().set(`kiro:steer:${job.jobId}`, JSON.stringify(job), 'EX', RECORD_TTL_S);
    if (job.delegatedBy) {
      const key = `kiro:steer:delegated:${job.delegatedBy.toLowerCase()}`;
      m.zadd(key, job.createdAt, job.jobId).zremrangebyrank(key, 0, -1001).expire(key, RECORD_TTL_S);
    }
    await m.exec();
  }

  async get(jobId: string): Promise<SteeredJob | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(jobId)) return undefined;
    return parse(await this.redis.get(`kiro:steer:${jobId}`));
  }

  async delegatedTo(login: string, limit: number): Promise<string[]> {
    const ids = await this.redis.zrevrange(`kiro:steer:delegated:${login.toLowerCase()}`, 0, limit - 1);
    return ids.filter((id) => /^[A-Za-z0-9_-]{1,64}$/.test(id));
  }
}
