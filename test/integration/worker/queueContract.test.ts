// One contract, two queues: the same expectations of the worker's HTTP surface run
// against the embedded durable queue and against a queue on Redis (BullMQ, a private
// redis-server on a free loopback port), each behind a real listening worker with one
// slot, the real sandbox and the scripted agent. What is a backend's own (fsync and
// restarts of the embedded queue; hosts, locks, outages of Redis) is tested beside
// this in pool.test.ts, lifecycle.test.ts and fleet.test.ts.
import assert from 'node:assert/strict';
import type { JobStatus } from '../../../shared/protocol.js';
import type { WorkerEvent } from '../../../shared/events.js';
import { readSse } from '../../../shared/sse.js';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

interface Backend {
  name: string;
  /** Extra environment for the worker (none for the embedded queue); set up once. */
  setUp(): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}

let redis: RedisServer | undefined;
const backends: Backend[] = [
  { name: 'the embedded durable queue', setUp: async () => ({}), tearDown: async () => {} },
  {
    name: 'a queue on Redis (BullMQ)',
    setUp: async () => {
      redis = await startRedis(await tempDir());
      return { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: 'contract' };
    },
    tearDown: async () => {
      if (redis) await stopChild(redis.child, 3000);
    },
  },
];

const FINAL = ['succeeded', 'failed', 'cancelled', 'no-changes', 'timed-out'];

for (const backend of backends) {
  describe(`the job queue's contract, on ${backend.name}`, function () {
    this.timeout(60_000);
    let gh: GitHubStandIn;
    let w: TestWorker;
    let c: WorkerClient;
    let seq = 0;

    before(async function () {
      const set = await standInWithAliceApp();
      ({ gh } = set);
      const extra = await backend.setUp();
      w = await startWorker(workerEnv(gh, set.botToken, await tempDir(), { KIRO_WORKER_SLOTS: '1', FAKE_KIRO_STEP_MS: '60', ...extra }));
      c = new WorkerClient(w.url);
    });
    after(async () => {
      await w?.close();
      await backend.tearDown();
      await gh?.close();
    });

    /** A PR of its own; `scenario` picks what the scripted agent does. */
    async function newJob(title: string, scenario = 'change') {
      const branch = `contract-${++seq}`;
      const pr = await makeTaskPr(gh, 'alice', 'app', branch, title, `\n[scenario: ${scenario}]`);
      return { branch, pr, req: jobRequest('alice', 'app', branch, pr.number, title) };
    }
    const head = async (branch: string) => gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${branch}`);
    const agentCommits = async (branch: string) =>
      ((await gh.model.repo('alice', 'app')?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? []).filter((l) =>
        l.subject.startsWith('feat: '),
      );
    const ended = (id: string) => c.waitFor(id, FINAL, 30_000);
    const cancel = async (id: string) => (await (await c.request('POST', `/jobs/${id}/cancel`)).json()) as JobStatus;
    /** The whole log from `offset`, once the job has ended. */
    const logFrom = async (id: string, offset = 0) => {
      const res = await c.request('GET', `/jobs/${id}/log${offset ? `?offset=${offset}` : ''}`);
      assert.equal(res.status, 200);
      return Buffer.from(await res.arrayBuffer());
    };

    it('accepts a job once per idempotency key: 202, then 200 with the same job; the key for another PR is refused with 409', async function () {
      const j = await newJob('Once');
      const first = await c.submit(j.req);
      assert.equal(first.status, 202);
      assert.match(first.jobId, /^[0-9a-f-]{36}$/);
      const again = await c.submit(j.req);
      assert.equal(again.status, 200);
      assert.equal(again.jobId, first.jobId);
      const other = await c.request('POST', '/generate-code', { ...j.req, prNumber: j.pr.number + 1000 });
      // Refused with 409 before the key is looked at: the worker asks GitHub for the PR first.
      assert.equal(other.status, 409);
      assert.equal(((await other.json()) as { code: string }).code, 'PR_MISMATCH');
      assert.equal((await ended(first.jobId)).state, 'succeeded');
      assert.equal((await agentCommits(j.branch)).length, 1, 'one job, one commit');
    });

    it("runs a job to its end: the agent's commit on the branch, and the job reports it, what changed and the summary", async function () {
      const j = await newJob('Reported');
      const { jobId } = await c.submit(j.req);
      const done = await ended(jobId);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.commitSha, await head(j.branch));
      assert.deepEqual(
        done.changes?.files.map((f) => f.path),
        ['kiro/IMPLEMENTATION.md'],
      );
      assert.match(done.summary ?? '', /Done\./);
      assert.equal(done.attempts, 1);
      assert.ok(done.startedAt && done.finishedAt && Date.parse(done.finishedAt) >= Date.parse(done.startedAt));
    });

    it('no changes and a failing agent end as `no-changes` and `failed` with the reason, and push nothing', async function () {
      const quiet = await newJob('Quiet', 'no-change');
      const broken = await newJob('Broken', 'fail');
      const before = [await head(quiet.branch), await head(broken.branch)];
      const ids = [(await c.submit(quiet.req)).jobId, (await c.submit(broken.req)).jobId];
      const [q, b] = await Promise.all(ids.map(ended));
      assert.equal(q?.state, 'no-changes');
      assert.equal(b?.state, 'failed');
      assert.equal(b?.error?.code, 'AGENT_FAILED');
      assert.equal(b?.exitCode, 3, 'the scripted agent fails with 3');
      assert.deepEqual([await head(quiet.branch), await head(broken.branch)], before);
    });

    it('answers 404 for a job it does not know: status, log and cancel', async function () {
      for (const [method, path] of [
        ['GET', '/jobs/0b2f0c8e-0000-4000-8000-000000000000'],
        ['GET', '/jobs/0b2f0c8e-0000-4000-8000-000000000000/log'],
        ['POST', '/jobs/0b2f0c8e-0000-4000-8000-000000000000/cancel'],
      ] as const) {
        const res = await c.request(method, path);
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(((await res.json()) as { code: string }).code, 'NOT_FOUND');
      }
    });

    it('cancel: a queued job ends at once and never runs; a running one is stopped; neither pushes', async function () {
      const running = await newJob('Runs long', 'hang');
      const waiting = await newJob('Waits', 'change');
      const r = await c.submit(running.req);
      await c.waitFor(r.jobId, ['running'], 20_000);
      const q = await c.submit(waiting.req);
      const queued = await c.job(q.jobId);
      assert.equal(queued.state, 'queued', 'the only slot is busy');
      const before = [await head(running.branch), await head(waiting.branch)];
      const qc = await cancel(q.jobId);
      assert.equal(qc.state, 'cancelled');
      assert.equal(qc.startedAt, null, 'it never started');
      const rc = await cancel(r.jobId);
      assert.equal(rc.state, 'cancelled', JSON.stringify(rc));
      assert.ok(rc.startedAt);
      assert.deepEqual([await head(running.branch), await head(waiting.branch)], before);
      assert.equal((await cancel(r.jobId)).state, 'cancelled', 'a second cancel changes nothing');
      assert.match((await logFrom(r.jobId)).toString(), /job cancelled/);
    });

    it('the log replays from the start and from any byte offset: the same bytes, and it ends with the job', async function () {
      const j = await newJob('Logged');
      const { jobId } = await c.submit(j.req);
      // Read while it runs: the live read ends when the job does.
      const live = await logFrom(jobId);
      assert.ok(FINAL.includes((await c.job(jobId)).state), 'the live log ended with the job');
      const text = live.toString();
      for (const line of ['fake-kiro', 'Reading TASK.md', 'Wrote kiro/IMPLEMENTATION.md', 'Done.'])
        assert.ok(text.includes(line), `${line} in ${JSON.stringify(text)}`);
      assert.deepEqual(await logFrom(jobId), live, 'a replay is the same bytes');
      for (const offset of [1, Math.floor(live.length / 2), live.length - 1])
        assert.deepEqual(await logFrom(jobId, offset), live.subarray(offset), `from byte ${offset}`);
    });

    it('the event stream: a snapshot of unfinished jobs on connect, then each state change of a job to its end', async function () {
      const j = await newJob('Watched', 'hang');
      const { jobId } = await c.submit(j.req);
      await c.waitFor(jobId, ['running'], 20_000);
      const ctl = new AbortController();
      const res = await c.request('GET', '/events', undefined, {}, ctl.signal);
      assert.equal(res.status, 200);
      const seen: WorkerEvent[] = [];
      const reading = (async () => {
        try {
          for await (const e of readSse(res.body as AsyncIterable<Uint8Array>)) seen.push(JSON.parse(e.data) as WorkerEvent);
        } catch {
          /* aborted */
        }
      })();
      const jobStates = () => seen.flatMap((e) => (e.type === 'job' && e.job.jobId === jobId ? [e.job.state] : []));
      await pollUntil(() => jobStates()[0] === 'running' && seen.some((e) => e.type === 'slots'), {
        timeoutMs: 10_000,
        what: `the snapshot (seen ${JSON.stringify(seen)})`,
      });
      const slots = seen.find((e) => e.type === 'slots');
      assert.ok(slots?.type === 'slots' && slots.pool.running === 1 && slots.pool.capacity === 1, JSON.stringify(slots));
      await cancel(jobId);
      await pollUntil(() => jobStates().at(-1) === 'cancelled', {
        timeoutMs: 10_000,
        what: `the cancelled event (states ${jobStates().join(',')})`,
      });
      await pollUntil(() => seen.some((e) => e.type === 'slots' && e.pool.running === 0), {
        timeoutMs: 10_000,
        what: 'the slot free again',
      });
      ctl.abort();
      await reading;
    });

    it('two jobs for one branch run one after the other, never at once, each with its own commit', async function () {
      const j = await newJob('Rounds');
      const first = await c.submit(j.req);
      const second = await c.submit({ ...j.req, idempotencyKey: `${j.req.idempotencyKey}-2` });
      const [a, b] = await Promise.all([ended(first.jobId), ended(second.jobId)]);
      assert.equal(a?.state, 'succeeded');
      assert.equal(b?.state, 'succeeded');
      const [s1, f1, s2, f2] = [a?.startedAt, a?.finishedAt, b?.startedAt, b?.finishedAt].map((t) => Date.parse(t ?? ''));
      assert.ok((f1 ?? 0) <= (s2 ?? 0) || (f2 ?? 0) <= (s1 ?? 0), 'the runs overlap');
      assert.equal((await agentCommits(j.branch)).length, 2);
    });
  });
}
