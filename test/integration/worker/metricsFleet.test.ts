// GET /metrics on a fleet of two real hosts sharing a private Redis: a job is counted once
// across the hosts (by the one that ran it, though both hear its events), every host
// shows each host's slots, and a Redis outage is counted per connection.
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { parsePrometheus, valueOf, type Family } from '../../support/prometheus.js';
import { standInWithAliceApp, type AliceApp } from '../../support/standIn.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

describe('GET /metrics on a fleet (real Redis)', function () {
  this.timeout(90_000);
  let s: AliceApp;
  let redis: RedisServer;
  let redisDir: string;
  const hosts: TestWorker[] = [];
  const scrape = async (h: TestWorker): Promise<Map<string, Family>> => {
    const res = await new WorkerClient(h.url).request('GET', '/metrics');
    assert.equal(res.status, 200);
    return parsePrometheus(await res.text());
  };
  const finished = (m: Map<string, Family>) =>
    valueOf(m, 'kiro_jobs_finished_total', 'kiro_jobs_finished_total', { state: 'succeeded', code: 'none' }) ?? 0;

  before(async function () {
    s = await standInWithAliceApp();
    redisDir = await tempDir();
    redis = await startRedis(redisDir);
    for (const id of ['host-a', 'host-b']) {
      hosts.push(
        await startWorker(workerEnv(s.gh, s.botToken, await tempDir(), { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: id }), {
          agentEnv: { FAKE_KIRO_STEP_MS: '0' },
        }),
      );
    }
  });
  after(async () => {
    for (const h of hosts) await h.close().catch(() => undefined);
    if (redis) await stopChild(redis.child, 3000);
    await s?.gh.close();
  });

  it("a job is counted by the host that ran it only; each host shows every host's slots", async function () {
    const [a, b] = hosts as [TestWorker, TestWorker];
    const pr = await makeTaskPr(s.gh, 'alice', 'app', 'fleet-metrics', 'fleet metrics');
    const c = new WorkerClient(a.url);
    const { jobId } = await c.submit(jobRequest('alice', 'app', 'fleet-metrics', pr.number, 'fleet metrics'));
    const done = await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes'], 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    const ran = hosts.find((h) => h.config.fleet?.workerId === done.host);
    assert.ok(ran, `ran on ${done.host}`);
    await pollUntil(async () => finished(await scrape(ran)) === 1, { what: 'the job counted by its host' });
    // The other host heard the same final event (over pub/sub) and counts nothing for it.
    const counts = await Promise.all([a, b].map(async (h) => finished(await scrape(h))));
    assert.deepEqual(counts.sort(), [0, 1]);
    const m = await pollUntil(
      async () => {
        const got = await scrape(b);
        return valueOf(got, 'kiro_slots_capacity', 'kiro_slots_capacity', { host: 'host-a' }) === 2 ? got : undefined;
      },
      { what: "host-a's slots in host-b's metrics" },
    );
    assert.equal(valueOf(m, 'kiro_slots_capacity', 'kiro_slots_capacity', { host: 'host-b' }), 2);
    assert.equal(valueOf(m, 'kiro_queue_depth', 'kiro_queue_depth'), 0);
  });

  it('a Redis outage is counted, once per connection, and /metrics still answers while Redis is away', async function () {
    const [a] = hosts as [TestWorker];
    assert.equal(valueOf(await scrape(a), 'kiro_redis_outages_total', 'kiro_redis_outages_total', { connection: 'cmd' }), undefined);
    await stopChild(redis.child, 3000);
    const m = await pollUntil(
      async () => {
        const got = await scrape(a);
        return (['cmd', 'writer', 'sub', 'locks'] as const).every(
          (connection) => valueOf(got, 'kiro_redis_outages_total', 'kiro_redis_outages_total', { connection }) === 1,
        )
          ? got
          : undefined;
      },
      { timeoutMs: 15_000, what: 'an outage counted on each connection' },
    );
    assert.ok(m.has('kiro_jobs_finished_total'));
    redis = await startRedis(redisDir, redis.port);
    await pollUntil(
      async () => ((await (await new WorkerClient(a.url).request('GET', '/health')).json()) as { accepting: boolean }).accepting,
      { timeoutMs: 15_000, what: 'the host back on Redis' },
    );
    assert.equal(
      valueOf(await scrape(a), 'kiro_redis_outages_total', 'kiro_redis_outages_total', { connection: 'cmd' }),
      1,
      'retries are not outages',
    );
  });
});
