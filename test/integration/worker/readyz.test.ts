// GET /readyz on the real worker: 200 while the host takes work; 503, with a code and what
// to do, while it drains, while its Redis is away (a fleet), or while its agents cannot be
// confined (bubblewrap gone). No credential is needed, and nothing about jobs is said.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../support/paths.js';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { standInWithAliceApp, type AliceApp } from '../../support/standIn.js';
import { startWorker, workerEnv, type TestWorker } from '../../support/worker.js';

const readyz = async (w: TestWorker) => {
  const res = await fetch(`${w.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; code?: string; message?: string } };
};

describe('GET /readyz (readiness)', function () {
  this.timeout(60_000);
  let s: AliceApp;
  before(async () => (s = await standInWithAliceApp()));
  after(async () => s?.gh.close());

  it('200 with no credential; 503 DRAINING once the host drains, while /healthz stays 200', async () => {
    const w = await startWorker(workerEnv(s.gh, s.botToken, await tempDir()));
    try {
      assert.deepEqual(await readyz(w), { status: 200, body: { ready: true } });
      await w.app.jobs.drain(1_000);
      const r = await readyz(w);
      assert.equal(r.status, 503);
      assert.equal(r.body.code, 'DRAINING');
      assert.match(r.body.message ?? '', /shutting down/);
      assert.equal((await fetch(`${w.url}/healthz`)).status, 200, 'still alive');
    } finally {
      await w.close();
    }
  });

  it('503 SANDBOX_UNAVAILABLE while bubblewrap cannot run, 200 again once it can', async () => {
    const w = await startWorker(workerEnv(s.gh, s.botToken, await tempDir(), { KIRO_SANDBOX: 'on' }));
    const path = process.env.PATH;
    try {
      assert.equal((await readyz(w)).status, 200);
      // The worker runs in this process: without bwrap on its PATH, the next probe fails.
      process.env.PATH = '/nonexistent';
      const down = await pollUntil(
        async () => {
          const r = await readyz(w);
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 20_000, what: 'readiness to see bubblewrap gone' },
      );
      process.env.PATH = path;
      assert.equal(down.body.code, 'SANDBOX_UNAVAILABLE');
      assert.match(down.body.message ?? '', /bubblewrap \(bwrap\) is not installed/);
      await pollUntil(async () => (await readyz(w)).status === 200, { timeoutMs: 20_000, what: 'ready again' });
    } finally {
      process.env.PATH = path;
      await w.close();
    }
  });

  it("the unit's ExecStartPost (deploy/wait-live.mjs) ends 0 once the worker is live, 1 when nothing answers in time", async () => {
    const w = await startWorker(workerEnv(s.gh, s.botToken, await tempDir()));
    const waitLive = (port: number, seconds: string) =>
      promisify(execFile)(process.execPath, [join(repoRoot, 'deploy', 'wait-live.mjs'), seconds], {
        env: { ...process.env, KIRO_WORKER_HOST: '0.0.0.0', KIRO_WORKER_PORT: String(port) },
      });
    try {
      await waitLive(Number(new URL(w.url).port), '10');
    } finally {
      await w.close();
    }
    // A port nobody listens on: taken and let go.
    const free = await new Promise<number>((r) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => r(typeof a === 'object' && a ? a.port : 0));
      });
    });
    await assert.rejects(
      waitLive(free, '1'),
      (e: { code?: number; stderr?: string }) => e.code === 1 && /did not answer/.test(e.stderr ?? ''),
    );
  });

  describe('a fleet host', () => {
    let redis: RedisServer;
    let redisDir: string;
    let w: TestWorker;
    before(async () => {
      redisDir = await tempDir();
      redis = await startRedis(redisDir);
      w = await startWorker(workerEnv(s.gh, s.botToken, await tempDir(), { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: 'ready-a' }));
    });
    after(async () => {
      await w?.close();
      if (redis) await stopChild(redis.child, 3000);
    });

    it('503 QUEUE_UNAVAILABLE while its Redis is away, 200 once it is back', async () => {
      await pollUntil(async () => (await readyz(w)).status === 200, { what: 'the host ready on Redis' });
      await stopChild(redis.child, 3000);
      const down = await pollUntil(
        async () => {
          const r = await readyz(w);
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 15_000, what: 'readiness to see Redis gone' },
      );
      assert.equal(down.body.code, 'QUEUE_UNAVAILABLE');
      redis = await startRedis(redisDir, redis.port);
      await pollUntil(async () => (await readyz(w)).status === 200, { timeoutMs: 20_000, what: 'ready again on Redis' });
    });
  });
});
