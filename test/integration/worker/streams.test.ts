// Streams with bounds: at most KIRO_STREAM_MAX_PER_CALLER event and log streams per caller
// (429 above), a log replay that reads only as fast as its client (a client that never reads
// costs no memory), streams closed when idle (the client resumes), and a fleet's log reader
// that waits on pub/sub instead of polling Redis ten times a second.
import assert from 'node:assert/strict';
import { appendFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { logPath } from '../../../worker-service/jobs/log.js';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';

/** A raw HTTP GET that never reads its response: the server's writes back up. */
function stalledGet(url: string, path: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${WORKER_TOKEN}\r\n\r\n`);
      s.pause();
      resolve(s);
    });
    s.on('error', reject);
  });
}

describe('streams with bounds', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let botToken: string;
  before(async () => {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => gh?.close());

  it('the 21st open stream of one caller gets 429 TOO_MANY_STREAMS; one closed, the next opens', async function () {
    const w = await startWorker(workerEnv(gh, botToken, await tempDir(), { KIRO_STREAM_MAX_PER_CALLER: '20' }));
    const controllers: AbortController[] = [];
    try {
      const c = new WorkerClient(w.url);
      for (let i = 0; i < 20; i++) {
        const ac = new AbortController();
        controllers.push(ac);
        assert.equal((await c.request('GET', '/events?jobs=', undefined, {}, ac.signal)).status, 200, `stream ${i + 1}`);
      }
      const over = await c.request('GET', '/events?jobs=');
      assert.equal(over.status, 429);
      assert.equal(((await over.json()) as { code: string }).code, 'TOO_MANY_STREAMS');
      assert.equal((await c.request('GET', '/jobs/nope/log')).status, 404, 'a log of an unknown job is refused before it counts');
      controllers.pop()?.abort();
      await pollUntil(async () => (await c.request('GET', '/health')).ok && [...w.app.streams.counts.values()][0] === 19, {
        what: 'the closed stream released',
      });
      const ac = new AbortController();
      controllers.push(ac);
      assert.equal((await c.request('GET', '/events?jobs=', undefined, {}, ac.signal)).status, 200);
    } finally {
      for (const ac of controllers) ac.abort();
      await w.close();
    }
  });

  it('a log replay reads only as fast as its client: ten clients that never read a 40 MB log cost the worker no copy of it each', async function () {
    const w = await startWorker(workerEnv(gh, botToken, await tempDir(), { KIRO_STREAM_MAX_PER_CALLER: '100' }), {
      agentEnv: { FAKE_KIRO_SCENARIO: 'huge-output' },
    });
    const sockets: Socket[] = [];
    try {
      const c = new WorkerClient(w.url);
      const pr = await makeTaskPr(gh, 'alice', 'app', 'streams-huge', 'huge');
      const { jobId } = await c.submit(jobRequest('alice', 'app', 'streams-huge', pr.number, 'huge'));
      await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes'], 60_000);
      // A long agent's log, larger than what the kernel's socket buffers hold for a client that does not read.
      const file = logPath(w.config.stateDir, jobId);
      appendFileSync(file, Buffer.alloc(40 * 1024 * 1024, 'y'));
      const size = statSync(file).size;
      // Buffers held (the worker runs in this process): what a response keeps unsent is here.
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 10; i++) sockets.push(await stalledGet(w.url, `/jobs/${jobId}/log`));
      // Time for a worker without backpressure to have read the file into every response.
      await pollUntil(() => [...w.app.streams.counts.values()].reduce((a, b) => a + b, 0) === 10, { what: 'ten readers open' });
      const settle = Date.now() + 2000;
      let peak = 0;
      await pollUntil(
        () => {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
          return Date.now() > settle;
        },
        { timeoutMs: 5000, intervalMs: 50, what: 'two seconds of readers not reading' },
      );
      // Waiting, not cut off: a worker that filled each response would have cut them at 4 MiB unsent.
      assert.equal(
        [...w.app.streams.counts.values()].reduce((a, b) => a + b, 0),
        10,
        'the ten readers are still open, paused',
      );
      assert.ok(
        peak < 40 * 1024 * 1024,
        `the worker grew ${Math.round(peak / 1024 / 1024)} MB for 10 stalled readers of ${Math.round(size / 1024 / 1024)} MB (without backpressure: about ${Math.round((10 * size) / 1024 / 1024)} MB)`,
      );
      // A reader that reads gets every byte.
      assert.equal((await (await c.request('GET', `/jobs/${jobId}/log`)).arrayBuffer()).byteLength, size);
    } finally {
      for (const s of sockets) s.destroy();
      await w.close();
    }
  });

  it('an idle stream is closed after KIRO_STREAM_IDLE_MS (pings do not count), and resumes', async function () {
    const w = await startWorker(workerEnv(gh, botToken, await tempDir(), { KIRO_STREAM_IDLE_MS: '1500' }), {
      agentEnv: { FAKE_KIRO_SCENARIO: 'hang' },
    });
    try {
      const c = new WorkerClient(w.url);
      const t0 = Date.now();
      const events = await c.request('GET', '/events?jobs=');
      await events.text(); // ends when the worker closes it
      assert.ok(Date.now() - t0 >= 1400, 'not before it was idle');
      const pr = await makeTaskPr(gh, 'alice', 'app', 'streams-idle', 'idle');
      const { jobId } = await c.submit(jobRequest('alice', 'app', 'streams-idle', pr.number, 'idle'));
      await c.waitFor(jobId, ['running']);
      const first = await (await c.request('GET', `/jobs/${jobId}/log`)).text();
      assert.match(first, /thinking forever/, 'the log until the agent went quiet, then closed');
      const again = await c.request('GET', `/jobs/${jobId}/log?offset=${Buffer.byteLength(first)}`);
      assert.equal(again.status, 200, 'and it resumes at its offset');
      await again.body?.cancel();
      await c.request('POST', `/jobs/${jobId}/cancel`);
    } finally {
      await w.close();
    }
  });

  describe("a fleet's log reader", function () {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis(await tempDir());
    });
    after(async () => {
      if (redis) await stopChild(redis.child, 3000);
    });

    it('of a queued job waits on pub/sub rather than polling Redis (GETRANGE calls counted), and still gets every byte once it runs', async function () {
      const w: TestWorker = await startWorker(
        workerEnv(gh, botToken, await tempDir(), { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: 'streams', KIRO_WORKER_SLOTS: '1' }),
        { agentEnv: { FAKE_KIRO_STEP_MS: '50' } },
      );
      const probe = new Redis(redis.url);
      try {
        const c = new WorkerClient(w.url);
        const blocker = await makeTaskPr(gh, 'alice', 'app', 'streams-block', 'block', '\n[scenario: hang]');
        const hold = await c.submit(jobRequest('alice', 'app', 'streams-block', blocker.number, 'block'));
        await c.waitFor(hold.jobId, ['running']);
        const pr = await makeTaskPr(gh, 'alice', 'app', 'streams-queued', 'queued');
        const { jobId } = await c.submit(jobRequest('alice', 'app', 'streams-queued', pr.number, 'queued'));
        assert.equal((await c.job(jobId)).state, 'queued');
        const reading = c.request('GET', `/jobs/${jobId}/log`).then((r) => r.text());
        const getranges = async () => Number(/cmdstat_getrange:calls=(\d+)/.exec(await probe.info('commandstats'))?.[1] ?? 0);
        await pollUntil(async () => (await getranges()) > 0, { what: 'the reader to start' });
        const before = await getranges();
        const t0 = Date.now();
        await pollUntil(() => Date.now() - t0 > 3000, { timeoutMs: 5000, intervalMs: 100, what: 'three seconds' });
        const polls = (await getranges()) - before;
        assert.ok(polls <= 3, `${polls} GETRANGE calls in 3 s for a queued job's reader (polling every 100 ms: about 30)`);
        await c.request('POST', `/jobs/${hold.jobId}/cancel`);
        const text = await reading;
        assert.match(text, /Done\./, 'the whole log once the job ran');
        assert.equal((await c.job(jobId)).state, 'succeeded');
      } finally {
        probe.disconnect();
        await w.close();
      }
    });
  });
});
