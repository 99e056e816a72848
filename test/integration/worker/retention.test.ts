// Retention (KIRO_JOB_RETENTION_DAYS): a finished job older than that loses its record, log
// and sandbox folder, said in the log; newer jobs and unfinished ones stay. A fleet's
// records of finished jobs live that long in Redis, and each host sweeps its own disk.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { logPath } from '../../../worker-service/jobs/log.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient } from '../../support/worker.js';

describe('retention of finished jobs (KIRO_JOB_RETENTION_DAYS)', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let botToken: string;
  before(async () => {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => gh?.close());

  const runOne = async (c: WorkerClient, branch: string) => {
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, branch, '\n[scenario: no-change]');
    const { jobId } = await c.submit(jobRequest('alice', 'app', branch, pr.number, branch));
    await c.waitFor(jobId, ['no-changes']);
    return jobId;
  };

  it('the embedded queue forgets a job finished more than 14 days ago (record, log, sandbox folder), keeps a recent one, and says so', async function () {
    const state = await tempDir();
    const env = workerEnv(gh, botToken, state);
    let w = await startWorker(env);
    const [old, recent] = [await runOne(new WorkerClient(w.url), 'retain-old'), await runOne(new WorkerClient(w.url), 'retain-new')];
    await w.close();
    // The old job finished 15 days ago, and left a sandbox folder behind.
    const file = join(state, 'jobs', `${old}.json`);
    const record = JSON.parse(readFileSync(file, 'utf8')) as { finishedAt: string };
    record.finishedAt = new Date(Date.now() - 15 * 86_400_000).toISOString();
    writeFileSync(file, JSON.stringify(record));
    mkdirSync(join(state, 'sandbox', old, 'home'), { recursive: true });
    assert.ok(existsSync(logPath(state, old)));
    const lines: string[] = [];
    w = await startWorker(env, { logStream: { write: (l: string) => void lines.push(l) } });
    try {
      const c = new WorkerClient(w.url);
      assert.equal((await c.request('GET', `/jobs/${old}`)).status, 404, 'the old job is gone');
      assert.equal((await c.job(recent)).state, 'no-changes', 'the recent one stays');
      for (const path of [file, logPath(state, old), join(state, 'sandbox', old)]) assert.equal(existsSync(path), false, `${path} removed`);
      assert.ok(existsSync(logPath(state, recent)), "the recent job's log stays");
      assert.ok(
        lines.some((l) => /retention: removed 1 finished jobs older than 14 days/.test(l)),
        'said in the log',
      );
    } finally {
      await w.close();
    }
  });

  it("a fleet: a finished job's record lives KIRO_JOB_RETENTION_DAYS in Redis, and a host sweeps its own old log files", async function () {
    const redis = await startRedis(await tempDir());
    const probe = new Redis(redis.url);
    try {
      const state = await tempDir();
      const env = workerEnv(gh, botToken, state, { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: 'retain', KIRO_JOB_RETENTION_DAYS: '3' });
      let w = await startWorker(env);
      const id = await runOne(new WorkerClient(w.url), 'retain-fleet');
      const ttl = await pollUntil(
        async () => {
          const t = await probe.ttl(`kiro:job:${id}`);
          return t > 0 && t <= 3 * 86_400 ? t : undefined;
        },
        { what: "the finished record's lifetime" },
      );
      assert.ok(ttl > 3 * 86_400 - 120, `${ttl} s: three days`);
      await w.close();
      const log = logPath(state, id);
      assert.ok(existsSync(log));
      const longAgo = new Date(Date.now() - 4 * 86_400_000);
      utimesSync(log, longAgo, longAgo);
      w = await startWorker(env);
      await w.close();
      assert.equal(existsSync(log), false, "the host's own copy of the log is swept");
    } finally {
      probe.disconnect();
      await stopChild(redis.child, 3000);
    }
  });
});
