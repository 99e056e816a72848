// Redis is input, not truth: a real worker host of a fleet (in-process, its real sandbox
// and the scripted agent, the GitHub stand-in) on a private redis-server, and whatever
// else can write to that Redis writing hostile jobs, records and pub/sub messages into
// it. Nothing outside the state folder is made or deleted (a canary sits where a path
// job id would point), a record retargeted after queueing never runs against the other
// repository, event-stream clients get no malformed event, and the host keeps serving.
// The checks themselves, case by case: test/unit/worker/redisInput.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { get as httpGet, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { GenerateCodeRequest, JobStatus } from '../../../shared/protocol.js';
import { readSse } from '../../../shared/sse.js';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { AUDIT_STREAM } from '../../../worker-service/identity/audit.js';
import { channels, jobIdFor, keys, QUEUE_NAME } from '../../../worker-service/queue/fleet/keys.js';
import { newJob } from '../../../worker-service/queue/fleet/records.js';
import { scopeKeyOf, toStatus } from '../../../worker-service/jobs/job.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

const FINAL = ['succeeded', 'no-changes', 'failed', 'timed-out', 'cancelled'];

/** Every GET /events event's raw `data`, as a client of the host receives it. */
class RawEvents {
  readonly data: string[] = [];
  private constructor(private readonly req: ClientRequest) {}
  static open(c: WorkerClient): Promise<RawEvents> {
    return new Promise((resolve, reject) => {
      const req = httpGet(
        `${c.url}/events`,
        { agent: false, headers: { accept: 'text/event-stream', authorization: `Bearer ${c.token ?? ''}` } },
        (res) => {
          const s = new RawEvents(req);
          void (async () => {
            for await (const e of readSse(res)) s.data.push(e.data);
          })().catch(() => undefined);
          resolve(s);
        },
      );
      req.on('error', reject);
    });
  }
  close(): void {
    this.req.destroy();
  }
}

describe('a fleet host reads Redis as input, not truth (hostile jobs, records and messages)', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let redis: RedisServer;
  let w: TestWorker;
  let c: WorkerClient;
  /** The test's own folder: the host's state folder is `root/state`; everything else in it is outside. */
  let root: string;
  let state: string;
  let raw: Redis;
  let queue: Queue;
  let queueConn: Redis;
  const logs: string[] = [];
  let seq = 0;

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    gh.addUser('mallory');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    await gh.createRepo('mallory', 'other');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    gh.grant('mallory', 'other', 'kiro-bot', 'WRITE');
    redis = await startRedis(await tempDir());
    root = await tempDir();
    state = join(root, 'state');
    await mkdir(state);
    // Where stateDir/sandbox/<id> points for the id ../../x: the sandbox's recursive delete, without the checks.
    await mkdir(join(root, 'x', 'home'), { recursive: true });
    await writeFile(join(root, 'x', 'canary'), 'keep me');
    w = await startWorker(
      workerEnv(gh, bot.token, state, {
        KIRO_REDIS_URL: redis.url,
        KIRO_WORKER_ID: 'hostile-a',
        KIRO_WORKER_SLOTS: '1',
        FAKE_KIRO_STEP_MS: '60',
      }),
      {
        logStream: { write: (line: string) => void logs.push(line) },
      },
    );
    c = new WorkerClient(w.url);
    raw = new Redis(redis.url, { maxRetriesPerRequest: null }).on('error', () => undefined);
    // BullMQ leaves a connection it was given open at close: closed with the rest below.
    queueConn = new Redis(redis.url, { maxRetriesPerRequest: null }).on('error', () => undefined);
    queue = new Queue(QUEUE_NAME, { connection: queueConn });
  });
  after(async () => {
    await w?.close();
    await queue?.close();
    queueConn?.disconnect();
    raw?.disconnect();
    if (redis) await stopChild(redis.child, 3000);
    await gh?.close();
  });

  /** Nothing new outside the state folder, and the canary where it was. */
  async function assertOutsideUntouched(): Promise<void> {
    assert.deepEqual((await readdir(root)).sort(), ['state', 'x'], 'nothing made next to the state folder');
    assert.deepEqual((await readdir(join(root, 'x'))).sort(), ['canary', 'home']);
    assert.equal(await readFile(join(root, 'x', 'canary'), 'utf8'), 'keep me', 'the canary outside the state folder survives');
  }

  async function newPr(title: string, scenario = 'change', owner = 'alice', repo = 'app', branch = `hostile-${++seq}`) {
    const pr = await makeTaskPr(gh, owner, repo, branch, title, `\n[scenario: ${scenario}]`);
    return { branch, pr, req: jobRequest(owner, repo, branch, pr.number, title) };
  }
  const head = (owner: string, repo: string, branch: string) => gh.model.repo(owner, repo)?.bare.resolve(`refs/heads/${branch}`);

  /** Writes a job into BullMQ as a submit would (and, given one, its record), around the host's API. */
  async function inject(jobId: string, request: GenerateCodeRequest, record?: string) {
    if (record !== undefined) await raw.set(keys.job(jobId), record);
    await queue.add('job', { request, createdAt: new Date().toISOString() }, { jobId, attempts: 5 });
    // Completed or failed: either way BullMQ is done with it.
    const state = await pollUntil(
      async () => {
        const s = await queue.getJobState(jobId);
        return s === 'completed' || s === 'failed' ? s : undefined;
      },
      { timeoutMs: 30_000, what: `BullMQ to finish ${jobId}` },
    );
    // Read once it is done (a job read before would carry no failure yet).
    const j = await queue.getJob(jobId);
    return { state, reason: j?.failedReason ?? '', value: j?.returnvalue as unknown };
  }

  /** A job on the only slot that runs until cancelled: what comes after it waits in the queue. */
  async function blockSlot() {
    const b = await newPr('Blocker', 'hang');
    const { jobId } = await c.submit(b.req);
    await c.waitFor(jobId, ['running'], 20_000);
    return { release: async () => void (await c.request('POST', `/jobs/${jobId}/cancel`)) };
  }

  /** The job's status once the host has written its end (GET answers 404 while its record is not a valid one). */
  const ended = (id: string) =>
    pollUntil(
      async () => {
        const res = await c.request('GET', `/jobs/${id}`);
        const s = res.ok ? ((await res.json()) as JobStatus) : undefined;
        return s && FINAL.includes(s.state) ? s : undefined;
      },
      { timeoutMs: 30_000, what: `job ${id} to end` },
    );

  const audited = async (jobId?: string) =>
    (await raw.xrange(AUDIT_STREAM, '-', '+'))
      .map(([, f]) => JSON.parse(f[1] ?? '{}') as { code?: string; jobId?: string; caller?: string })
      .filter((r) => r.code === 'INVALID_RECORD' && (jobId === undefined || r.jobId === jobId));

  it('a BullMQ job whose id is a path (../../x) is failed unrun: the folder it points at outside the state folder survives, no record is made for it, it is audited', async function () {
    const j = await newPr('Path id');
    const before = await head('alice', 'app', j.branch);
    const auditsBefore = (await audited()).length;
    const done = await inject('../../x', j.req);
    await assertOutsideUntouched();
    assert.equal(done.state, 'failed');
    assert.match(done.reason, /INVALID_RECORD/);
    assert.equal(await raw.exists(keys.job('../../x')), 0, 'no record written under the hostile id');
    assert.equal(await head('alice', 'app', j.branch), before, 'nothing pushed');
    assert.ok(!existsSync(join(state, 'sandbox', 'x')), 'nor a sandbox inside the state folder');
    assert.equal((await audited()).length, auditsBefore + 1, 'audited once (with no job id: it is not one)');
    assert.ok(
      logs.some((l) => l.includes('INVALID_RECORD') && l.includes('../../x')),
      'logged',
    );
  });

  it('a queued job (and its record) for the owner ../../escape is failed unrun: no mirror or worktree made outside the state folder, the record not served', async function () {
    const req = { ...(await newPr('Escape')).req, owner: '../../escape' };
    const id = jobIdFor(scopeKeyOf(req));
    const done = await inject(id, req, JSON.stringify(newJob(id, scopeKeyOf(req), req)));
    await assertOutsideUntouched();
    assert.equal(done.state, 'failed');
    assert.match(done.reason, /INVALID_RECORD.*owner/);
    assert.ok(!existsSync(join(state, 'escape')) && !existsSync(join(state, 'repos', 'escape')));
    assert.equal((await c.request('GET', `/jobs/${id}`)).status, 404, 'a record that fails its checks is no job');
    assert.equal((await audited(id)).length, 1);
  });

  it('a record retargeted to another repository after queueing does not run there (nor anywhere): the job fails INVALID_RECORD, its record rewritten from what was queued', async function () {
    const block = await blockSlot();
    const t = await newPr('Retargeted');
    const { jobId } = await c.submit(t.req);
    assert.equal((await c.job(jobId)).state, 'queued', 'the only slot is busy');
    // The same branch name, with a PR, on a repository the bot may push to.
    const other = await newPr('Elsewhere', 'change', 'mallory', 'other', t.branch);
    const heads = { mine: await head('alice', 'app', t.branch), theirs: await head('mallory', 'other', t.branch) };
    const record = JSON.parse((await raw.get(keys.job(jobId))) ?? '{}') as { request: GenerateCodeRequest; scopeKey: string };
    record.request = { ...record.request, owner: 'mallory', repo: 'other', prNumber: other.pr.number };
    record.scopeKey = scopeKeyOf(record.request);
    await raw.set(keys.job(jobId), JSON.stringify(record), 'KEEPTTL');
    await block.release();
    const done = await ended(jobId);
    assert.equal(done.state, 'failed');
    assert.equal(done.error?.code, 'INVALID_RECORD', JSON.stringify(done.error));
    assert.deepEqual([done.owner, done.repo], ['alice', 'app'], 'the record says again what was asked for');
    assert.equal(await head('mallory', 'other', t.branch), heads.theirs, 'nothing pushed to the other repository');
    assert.equal(await head('alice', 'app', t.branch), heads.mine, 'nor to its own');
    assert.equal(done.startedAt, null, 'never started');
    await assertOutsideUntouched();
  });

  it('a garbage record of a queued job: the job is not served while it is garbage, then fails INVALID_RECORD; reads and the event stream go on', async function () {
    const block = await blockSlot();
    const t = await newPr('Garbage');
    const before = await head('alice', 'app', t.branch);
    const { jobId } = await c.submit(t.req);
    await raw.set(keys.job(jobId), 'not json{', 'KEEPTTL');
    assert.equal((await c.request('GET', `/jobs/${jobId}`)).status, 404);
    // The open jobs' snapshot (which lists this id) still answers, without it.
    const events = await RawEvents.open(c);
    try {
      await pollUntil(() => events.data.some((d) => d.includes('"type":"slots"')), {
        timeoutMs: 20_000,
        what: "the event stream's snapshot",
      });
      assert.ok(!events.data.some((d) => d.includes(jobId)), 'the garbage job is not in the snapshot');
    } finally {
      events.close();
    }
    assert.equal((await c.request('GET', '/health')).status, 200);
    await block.release();
    const done = await ended(jobId);
    assert.equal(done.error?.code, 'INVALID_RECORD', JSON.stringify(done.error));
    assert.equal(await head('alice', 'app', t.branch), before);
  });

  it('malformed pub/sub messages are dropped (and logged), never relayed to event-stream clients; a well-formed one after them is', async function () {
    const events = await RawEvents.open(c);
    try {
      await pollUntil(() => events.data.length > 0, { timeoutMs: 20_000, what: "the event stream's snapshot" });
      const good = newJob(jobIdFor('marker'), 'marker', jobRequest('alice', 'app', 'marker', 1, 'Marker'));
      const status = toStatus(good, 0);
      const [twoFields, ownerId, branchId] = [jobIdFor('two-fields'), jobIdFor('owner'), jobIdFor('branch')];
      const hostileIds = [twoFields, ownerId, branchId];
      const publisher = new Redis(redis.url, { maxRetriesPerRequest: null });
      try {
        for (const m of [
          'not json{',
          'null',
          '{"type":"exec"}',
          '{"type":"job"}',
          // All the check before this one looked at.
          JSON.stringify({ type: 'job', job: { jobId: twoFields, state: 'running' } }),
          JSON.stringify({ type: 'job', job: { ...status, jobId: 5 } }),
          JSON.stringify({ type: 'job', job: { ...status, jobId: '../../x' } }),
          JSON.stringify({ type: 'job', job: { ...status, jobId: ownerId, owner: '../etc' } }),
          JSON.stringify({ type: 'job', job: { ...status, jobId: branchId, branch: 'a..b', state: 'succeeded' } }),
        ])
          await publisher.publish(channels.events, m);
        for (const m of ['../../x', 'garbage', '']) await publisher.publish(channels.cancel, m);
        // In order on one connection: once this one is through, the ones before it were handled.
        await publisher.publish(channels.events, JSON.stringify({ type: 'job', job: status }));
      } finally {
        publisher.disconnect();
      }
      await pollUntil(() => events.data.some((d) => d.includes(good.id)), {
        timeoutMs: 20_000,
        what: 'the well-formed event to be relayed',
      });
      const relayed = events.data.filter((d) => d.includes('"type":"job"'));
      for (const d of relayed) {
        assert.ok(!hostileIds.some((id) => d.includes(id)), `a malformed event reached a client: ${d.slice(0, 200)}`);
        assert.ok(!d.includes('../'), `a hostile name reached a client: ${d.slice(0, 200)}`);
      }
      await pollUntil(() => logs.some((l) => l.includes('dropped a malformed event message')), {
        timeoutMs: 20_000,
        what: 'the drop to be logged',
      });
      assert.ok(logs.some((l) => l.includes('dropped a malformed cancel message')));
    } finally {
      events.close();
    }
  });

  it('after all that the host still serves: a normal job runs and pushes, and nothing outside the state folder changed', async function () {
    const j = await newPr('Normal');
    const { jobId } = await c.submit(j.req);
    const done = await c.waitFor(jobId, FINAL, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.commitSha, await head('alice', 'app', j.branch));
    await assertOutsideUntouched();
  });
});
