// POST /github/webhook on the real worker, attacked: a delivery without a signature, with a
// wrong one, signed with another secret, or with a body changed after signing gets 401 and
// starts nothing; the route is the only one that takes no worker token, and it takes none
// (a worker token does not stand in for a signature); without KIRO_GITHUB_WEBHOOK_SECRET
// there is no route at all.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Webhooks } from '@octokit/webhooks';
import { standInWithAliceApp, type AliceApp } from '../../support/standIn.js';
import { tempDir } from '../../support/helpers.js';
import { makeTaskPr, startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';

const SECRET = 'a-webhook-secret-for-tests-0123';

describe('webhook signatures (hostile)', function () {
  this.timeout(60_000);
  let s: AliceApp;
  let w: TestWorker;
  let state: string;
  let prNumber: number;
  const signer = new Webhooks({ secret: SECRET });

  const payload = () =>
    JSON.stringify({
      action: 'created',
      repository: { name: 'app', owner: { login: 'alice' } },
      sender: { login: 'alice', type: 'User' },
      issue: { number: prNumber, pull_request: { url: 'x' } },
      comment: { id: 1, body: '/kiro do it', html_url: 'https://example/c/1' },
    });
  const deliver = (body: string, headers: Record<string, string>) =>
    fetch(`${w.url}/github/webhook`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'issue_comment', 'x-github-delivery': randomUUID(), ...headers },
    });
  /** Nothing started: no job, no TASK.md commit, no call to GitHub's API on behalf of the delivery. */
  const nothingDone = async (before: number) => {
    const outcomes = await w.app.steering?.handled();
    assert.deepEqual(outcomes, [], 'no delivery was worked on');
    assert.equal((await w.app.jobs.unfinished()).length, 0, 'no job queued');
    assert.equal(s.gh.requests.length, before, `no request reached GitHub: ${JSON.stringify(s.gh.requests.slice(before))}`);
  };

  before(async function () {
    s = await standInWithAliceApp();
    state = await tempDir();
    prNumber = (await makeTaskPr(s.gh, 'alice', 'app', 'kiro/sig', 'sig')).number;
    w = await startWorker(workerEnv(s.gh, s.botToken, state, { KIRO_GITHUB_WEBHOOK_SECRET: SECRET, KIRO_BRANCH_PREFIX: 'kiro/' }));
  });
  after(async () => {
    await w?.close();
    await s?.gh.close();
    await rm(state, { recursive: true, force: true });
  });

  it("no signature, a wrong one, another secret's, or a body changed after signing: 401, nothing done", async function () {
    const body = payload();
    const good = await signer.sign(body);
    const other = await new Webhooks({ secret: 'another-secret-of-someone-else' }).sign(body);
    const before = s.gh.requests.length;
    for (const [what, b, headers] of [
      ['missing', body, {}],
      ['garbage', body, { 'x-hub-signature-256': 'sha256=00' }],
      ['sha1 only', body, { 'x-hub-signature': 'sha1=0000000000000000000000000000000000000000' }],
      ['another secret', body, { 'x-hub-signature-256': other }],
      ['body changed', body.replace('do it', 'rm -rf'), { 'x-hub-signature-256': good }],
      ['the worker token instead', body, { authorization: `Bearer ${WORKER_TOKEN}` }],
    ] as const) {
      const res = await deliver(b, headers);
      assert.equal(res.status, 401, `${what}: ${await res.clone().text()}`);
      assert.equal(((await res.json()) as { code: string }).code, 'BAD_SIGNATURE', what);
    }
    await nothingDone(before);
  });

  it('a signed delivery needs no worker token (and gets 202); every other route still does', async function () {
    const body = payload().replace('/kiro do it', 'just a comment');
    const res = await deliver(body, { 'x-hub-signature-256': await signer.sign(body) });
    assert.equal(res.status, 202, await res.clone().text());
    assert.equal(((await res.json()) as { outcome: string }).outcome, 'ignored');
    for (const [method, path] of [
      ['GET', '/jobs/x'],
      ['POST', '/generate-code'],
      ['GET', '/audit'],
      ['GET', '/health'],
    ] as const) {
      const r = await fetch(`${w.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      assert.equal(r.status, 401, `${method} ${path} without a token`);
    }
  });

  it('a form-encoded or text body is refused before it is read as a delivery', async function () {
    const body = `payload=${encodeURIComponent(payload())}`;
    const res = await deliver(body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-hub-signature-256': await signer.sign(body),
    });
    assert.equal(res.status, 415, await res.clone().text());
  });

  it('without KIRO_GITHUB_WEBHOOK_SECRET there is no webhook route', async function () {
    const plain = await startWorker(workerEnv(s.gh, s.botToken, await tempDir()));
    try {
      const body = payload();
      const res = await fetch(`${plain.url}/github/webhook`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': await signer.sign(body),
          'x-github-event': 'issue_comment',
          'x-github-delivery': randomUUID(),
        },
      });
      assert.equal(res.status, 401, 'an unknown route is not public: refused before anything');
      const withToken = await fetch(`${plain.url}/github/webhook`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WORKER_TOKEN}` },
      });
      assert.equal(withToken.status, 404);
    } finally {
      await plain.close();
    }
  });
});
