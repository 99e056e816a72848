// The identity rules on a fleet of three hosts sharing a private Redis: a session any host
// issued is good on every host (one KIRO_SESSION_SECRET), GET /jobs?mine=1 on any host lists
// the jobs submitted through every host, quotas count across hosts, and the audit trail is
// one Redis stream whichever host wrote to it.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { AuthSession, JobList } from '../../../shared/protocol.js';
import type { AuditRecord } from '../../../shared/audit.js';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';

describe('identity on a fleet of three hosts (real Redis)', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let redis: RedisServer;
  const hosts: TestWorker[] = [];
  let alice: { token: string };

  before(async function () {
    const set = await standInWithAliceApp();
    ({ gh, alice } = set);
    redis = await startRedis(await tempDir());
    for (const id of ['host-a', 'host-b', 'host-c']) {
      hosts.push(
        await startWorker(
          workerEnv(gh, set.botToken, await tempDir(), {
            KIRO_REDIS_URL: redis.url,
            KIRO_WORKER_ID: id,
            KIRO_AUTH: 'github',
            KIRO_SESSION_SECRET: 'one-secret-for-every-host-of-the-fleet',
            KIRO_BRANCH_PREFIX: 'kiro/',
            KIRO_USER_MAX_ACTIVE: '3',
          }),
        ),
      );
    }
  });

  after(async () => {
    for (const h of hosts) await h.close().catch(() => undefined);
    if (redis) await stopChild(redis.child, 3000);
    await gh?.close();
  });

  it('a session from one host is accepted by the others; mine=1 lists jobs from every host; the quota counts them all; one audit trail', async function () {
    const res = await new WorkerClient(hosts[0]!.url, null).request('POST', '/auth/github', { token: alice.token });
    const { token } = (await res.json()) as AuthSession;
    const clients = hosts.map((h) => new WorkerClient(h.url, token));
    const ids: string[] = [];
    for (const [i, c] of clients.entries()) {
      const branch = `kiro/fleet-${i}`;
      const pr = await makeTaskPr(gh, 'alice', 'app', branch, branch, '\n[scenario: hang]');
      const accepted = await c.request('POST', '/generate-code', jobRequest('alice', 'app', branch, pr.number, branch));
      assert.equal(accepted.status, 202, `through ${hosts[i]!.config.fleet?.workerId}: ${await accepted.clone().text()}`);
      ids.push(((await accepted.json()) as { jobId: string }).jobId);
    }
    for (const c of clients) {
      const list = (await (await c.request('GET', '/jobs?mine=1')).json()) as JobList;
      assert.deepEqual(list.jobs.map((j) => j.jobId).sort(), [...ids].sort(), `from ${c.url}`);
      assert.ok(list.jobs.every((j) => j.requestedBy === 'alice'));
    }
    const pr = await makeTaskPr(gh, 'alice', 'app', 'kiro/fleet-4', 'four');
    const fourth = await clients[1]!.request('POST', '/generate-code', jobRequest('alice', 'app', 'kiro/fleet-4', pr.number, 'four'));
    assert.equal(fourth.status, 429, 'three in flight across the fleet');
    for (const id of ids) await clients[2]!.request('POST', `/jobs/${id}/cancel`);
    // Each host writes its records behind its requests (never holding one): they land in order, shortly.
    const audit = await pollUntil(
      async () => {
        const a = (await (await new WorkerClient(hosts[2]!.url, WORKER_TOKEN).request('GET', '/audit')).json()) as {
          records: AuditRecord[];
        };
        return a.records.filter((r) => r.action === 'cancel' && r.outcome === 'ok').length === 3 ? a : undefined;
      },
      { what: "every host's records in the trail" },
    );
    assert.equal(audit.records.filter((r) => r.action === 'submit' && r.outcome === 'ok').length, 3, "every host's submits in one trail");
    assert.ok(audit.records.some((r) => r.action === 'submit' && r.code === 'QUOTA_EXCEEDED'));
    assert.equal(audit.records.filter((r) => r.action === 'cancel' && r.outcome === 'ok').length, 3);
  });

  it('the GitHub token is in no Redis key, whatever its type', async function () {
    const r = new Redis(redis.url);
    try {
      let looked = 0;
      for (const key of await r.keys('*')) {
        const type = await r.type(key);
        const values =
          type === 'string'
            ? [await r.getBuffer(key).then((b) => b?.toString('latin1') ?? '')]
            : type === 'zset'
              ? await r.zrange(key, 0, -1)
              : type === 'set'
                ? await r.smembers(key)
                : type === 'hash'
                  ? Object.entries(await r.hgetall(key)).flat()
                  : type === 'list'
                    ? await r.lrange(key, 0, -1)
                    : type === 'stream'
                      ? (await r.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields])
                      : [];
        looked += 1;
        for (const v of [key, ...values]) assert.ok(!v.includes(alice.token), `the GitHub token in ${type} ${key}`);
      }
      assert.ok(looked > 10, `looked at ${looked} keys`);
    } finally {
      r.disconnect();
    }
  });
});
