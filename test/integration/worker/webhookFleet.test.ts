// Webhook deliveries to a fleet of two hosts sharing a private Redis: GitHub may send a
// delivery to either (a load balancer in front), and redeliver it to the other. Sent to
// both hosts at the same instant, and again after, a delivery makes one round: one job,
// one TASK.md section. While Redis is unreachable a delivery is refused with 503 (so
// GitHub's redelivery can bring it again), never acknowledged and lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { standInWithAliceApp, type AliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

const SECRET = 'one-webhook-secret-for-the-fleet';

describe('webhook deliveries to a fleet (real Redis)', function () {
  this.timeout(90_000);
  let s: AliceApp;
  let redis: RedisServer;
  let redisDir: string;
  const hosts: TestWorker[] = [];
  const signer = new Webhooks({ secret: SECRET });

  before(async function () {
    s = await standInWithAliceApp();
    redisDir = await tempDir();
    redis = await startRedis(redisDir);
    for (const id of ['host-a', 'host-b']) {
      hosts.push(
        await startWorker(
          workerEnv(s.gh, s.botToken, await tempDir(), {
            KIRO_REDIS_URL: redis.url,
            KIRO_WORKER_ID: id,
            KIRO_GITHUB_WEBHOOK_SECRET: SECRET,
          }),
          { agentEnv: { FAKE_KIRO_STEP_MS: '0' } },
        ),
      );
    }
  });
  after(async () => {
    for (const h of hosts) await h.close().catch(() => undefined);
    if (redis) await stopChild(redis.child, 3000);
    await s?.gh.close();
  });

  const comment = (prNumber: number, body: string) =>
    JSON.stringify({
      action: 'created',
      repository: { name: 'app', owner: { login: 'alice' } },
      sender: { login: 'alice', type: 'User' },
      issue: { number: prNumber, pull_request: { url: 'x' } },
      comment: { id: prNumber * 10, body, html_url: `${s.gh.origin}/alice/app/pull/${prNumber}#issuecomment-${prNumber * 10}` },
    });
  const deliver = async (host: TestWorker, id: string, body: string) =>
    fetch(`${host.url}/github/webhook`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': id,
        'x-hub-signature-256': await signer.sign(body),
      },
    });
  const taskMd = async (branch: string) => {
    const r = s.gh.model.repo('alice', 'app');
    return (await r?.bare.readFile(`refs/heads/${branch}`, 'TASK.md')) ?? '';
  };

  it('one delivery to both hosts at once, then again: one round, one job, one TASK.md section', async function () {
    const { number } = await makeTaskPr(s.gh, 'alice', 'app', 'fleet-hook', 'fleet hook');
    const id = randomUUID();
    const body = comment(number, '/kiro add a changelog entry');
    const answers = await Promise.all(hosts.map((h) => deliver(h, id, body)));
    const outcomes = await Promise.all(answers.map(async (a) => [a.status, ((await a.json()) as { outcome: string }).outcome]));
    assert.deepEqual(outcomes.map(String).sort(), ['200,duplicate', '202,accepted'], JSON.stringify(outcomes));
    const again = await deliver(hosts[1]!, id, body);
    assert.equal(again.status, 200, 'a redelivery, to either host, does nothing');
    const queued = (await Promise.all(hosts.map((h) => h.app.steering!.handled()))).flat().filter((o) => o.kind === 'queued');
    assert.equal(queued.length, 1, JSON.stringify(queued));
    const jobId = queued[0]?.kind === 'queued' ? queued[0].jobId : '';
    const done = await new WorkerClient(hosts[0]!.url).waitFor(jobId, ['succeeded'], 30_000);
    assert.equal(done.requestedBy, 'alice');
    const md = await taskMd('fleet-hook');
    assert.equal((md.match(/^## Follow-up \d+$/gm) ?? []).length, 1, md);
    assert.match(md, /> add a changelog entry/);
  });

  it('Redis unreachable: 503 with Retry-After, not acknowledged; once it is back, the redelivery makes the round', async function () {
    const { number } = await makeTaskPr(s.gh, 'alice', 'app', 'fleet-outage', 'fleet outage');
    const id = randomUUID();
    const body = comment(number, '/kiro once Redis is back');
    const port = redis.port;
    const before = (await hosts[1]!.app.steering!.handled()).length;
    await stopChild(redis.child, 3000);
    const refused = await deliver(hosts[0]!, id, body);
    assert.equal(refused.status, 503, await refused.clone().text());
    assert.ok(refused.headers.get('retry-after'), 'says when to try again');
    redis = await startRedis(redisDir, port);
    const accepted = await pollUntil(
      async () => {
        const res = await deliver(hosts[1]!, id, body);
        return res.status === 202 ? res : undefined;
      },
      { timeoutMs: 20_000, what: 'the redelivery to be accepted once Redis is back' },
    );
    assert.equal(((await accepted.json()) as { outcome: string }).outcome, 'accepted');
    const after = (await hosts[1]!.app.steering!.handled()).slice(before);
    assert.deepEqual(
      after.map((o) => o.kind),
      ['queued'],
      JSON.stringify(after),
    );
  });
});
