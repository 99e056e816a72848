// The stand-in's webhook side, checked on its own: deliveries signed as GitHub signs them
// (verified here with @octokit/webhooks), payloads that match @octokit/webhooks-schemas,
// redelivery with the same GUID and body, a review as N comment events and one review event;
// and its steering routes as strict as GitHub's (reactions 201 then 200, check runs for
// Apps only, statuses, replies threaded under the first comment).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { Octokit } from '@octokit/core';
import { Webhooks } from '@octokit/webhooks';
import { GitHubStandIn } from '../support/github/server.js';
import { makeAppKey } from '../support/github/apps.js';
import { createAppAuth } from '@octokit/auth-app';
import { tempDir } from '../support/helpers.js';
import { makeTaskPr } from '../support/worker.js';

const SECRET = 'stand-in-webhook-secret';

describe('GitHub stand-in: webhooks and steering routes', function () {
  this.timeout(30_000);
  let gh: GitHubStandIn;
  let receiver: Server;
  const received: { headers: IncomingMessage['headers']; body: string; valid: boolean }[] = [];
  const verifier = new Webhooks({ secret: SECRET });
  let pr: number;
  let bob: { token: string };

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bob = gh.addUser('bob');
    await gh.createRepo('alice', 'app', {
      files: [
        { path: 'README.md', contents: '# app\n' },
        { path: 'src/a.ts', contents: 'one\ntwo\nthree\n' },
      ],
    });
    gh.grant('alice', 'app', 'bob', 'WRITE');
    pr = (await makeTaskPr(gh, 'alice', 'app', 'kiro/x', 'x')).number;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        void verifier.verify(body, String(req.headers['x-hub-signature-256'] ?? '')).then((valid) => {
          received.push({ headers: req.headers, body, valid });
          res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
      });
    }).listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const addr = receiver.address();
    gh.webhooks.set(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`, SECRET);
  });
  after(async () => {
    receiver?.close();
    await gh?.close();
  });

  it('a comment is delivered signed, with the event, a GUID and a payload that matches the schema; a redelivery is the same delivery', async function () {
    const made = await gh.webhooks.comment('alice', 'app', pr, 'bob', '/kiro hello');
    assert.equal(made.delivery.status, 202);
    const got = received.at(-1);
    assert.ok(got?.valid, 'the signature verifies with the secret');
    assert.equal(got?.headers['x-github-event'], 'issue_comment');
    assert.match(String(got?.headers['x-github-delivery']), /^[0-9a-f-]{36}$/);
    const payload = JSON.parse(got?.body ?? '{}') as {
      comment: { id: number; body: string };
      issue: { number: number; pull_request?: unknown };
      sender: { login: string };
    };
    assert.deepEqual(
      [payload.comment.id, payload.comment.body, payload.issue.number, payload.sender.login],
      [made.id, '/kiro hello', pr, 'bob'],
    );
    assert.ok(payload.issue.pull_request, 'a PR comment says so');
    const again = await gh.webhooks.redeliver(made.delivery.id);
    assert.equal(again.id, made.delivery.id);
    assert.equal(received.at(-1)?.body, got?.body);
    assert.equal(received.at(-1)?.headers['x-github-delivery'], got?.headers['x-github-delivery']);
  });

  it('a payload that does not match the schema is never sent', async function () {
    const { assertPayloadMatches } = await import('../support/github/webhooks.js');
    assert.throws(
      () => assertPayloadMatches('issue_comment', { action: 'created', issue: {}, comment: {} }),
      /does not match the webhook schema/,
    );
  });

  it('a review with three inline comments: three comment events, then one review event; hunks from the real diff', async function () {
    const before = received.length;
    const r = await gh.webhooks.submitReview('alice', 'app', pr, 'bob', {
      body: 'see inline',
      comments: [1, 2, 3].map((line) => ({ path: 'src/a.ts', line, body: `/kiro fix line ${line}` })),
    });
    const events = received.slice(before).map((x) => x.headers['x-github-event']);
    assert.deepEqual(events, [
      'pull_request_review_comment',
      'pull_request_review_comment',
      'pull_request_review_comment',
      'pull_request_review',
    ]);
    assert.equal(r.comments.length, 3);
    const api = new Octokit({ baseUrl: gh.apiUrl, auth: bob.token });
    const { data } = await api.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments', {
      owner: 'alice',
      repo: 'app',
      pull_number: pr,
      review_id: r.reviewId,
    });
    assert.deepEqual(
      data.map((c) => c.id),
      r.comments.map((c) => c.id),
    );
    assert.match(data[1]?.diff_hunk ?? '', /^@@ .* src\/a\.ts\n one\n two$/);
  });

  it('reactions: 201, then 200 for the same one; 422 for an unknown content; 404 for no such comment', async function () {
    const made = await gh.webhooks.comment('alice', 'app', pr, 'alice', 'a comment');
    const api = new Octokit({ baseUrl: gh.apiUrl, auth: bob.token });
    const react = (content: string, id = made.id) =>
      api.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', {
        owner: 'alice',
        repo: 'app',
        comment_id: id,
        content: content as 'eyes',
      });
    assert.equal((await react('eyes')).status, 201);
    assert.equal((await react('eyes')).status, 200);
    await assert.rejects(react('party'), (e: { status?: number }) => e.status === 422);
    await assert.rejects(react('eyes', 999_999), (e: { status?: number }) => e.status === 404);
    assert.equal(gh.webhooks.state('alice', 'app').reactions.filter((x) => x.targetId === made.id).length, 1);
  });

  it('check runs: a personal token is refused (Apps only); an App with checks: write creates and completes one; a completed run needs a conclusion', async function () {
    const sha = (await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/kiro/x')) ?? '';
    const user = new Octokit({ baseUrl: gh.apiUrl, auth: bob.token });
    await assert.rejects(
      user.request('POST /repos/{owner}/{repo}/check-runs', { owner: 'alice', repo: 'app', name: 'Kiro', head_sha: sha }),
      (e: { status?: number; message?: string }) => e.status === 403 && /GitHub App/.test(e.message ?? ''),
    );
    const key = await makeAppKey(await tempDir());
    const app = gh.addApp('kiro', key.publicKeyPem, {
      contents: 'write',
      pull_requests: 'write',
      issues: 'write',
      checks: 'write',
      metadata: 'read',
    });
    const inst = gh.install(app, 'alice');
    const asApp = new Octokit({
      baseUrl: gh.apiUrl,
      authStrategy: createAppAuth,
      auth: { appId: app.id, privateKey: key.privateKeyPem, installationId: inst.id },
    });
    const { data: run } = await asApp.request('POST /repos/{owner}/{repo}/check-runs', {
      owner: 'alice',
      repo: 'app',
      name: 'Kiro',
      head_sha: sha,
      status: 'queued',
      details_url: 'https://example.com/x',
    });
    await assert.rejects(
      asApp.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner: 'alice',
        repo: 'app',
        check_run_id: run.id,
        status: 'completed',
      }),
      (e: { status?: number }) => e.status === 422,
    );
    await asApp.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      owner: 'alice',
      repo: 'app',
      check_run_id: run.id,
      status: 'in_progress',
    });
    await asApp.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      owner: 'alice',
      repo: 'app',
      check_run_id: run.id,
      status: 'completed',
      conclusion: 'success',
      output: { title: 't', summary: 's' },
    });
    const { data: list } = await user.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
      owner: 'alice',
      repo: 'app',
      ref: sha,
    });
    assert.deepEqual(
      list.check_runs.map((c) => [c.name, c.status, c.conclusion]),
      [['Kiro', 'completed', 'success']],
    );
    assert.deepEqual(gh.webhooks.state('alice', 'app').checkRuns[0]?.history, ['queued', 'in_progress', 'completed']);
  });

  it('statuses need push access; a reply joins the thread of the comment it answers', async function () {
    const sha = (await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/kiro/x')) ?? '';
    const carol = gh.addUser('carol');
    const asCarol = new Octokit({ baseUrl: gh.apiUrl, auth: carol.token });
    await assert.rejects(
      asCarol.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'alice', repo: 'app', sha, state: 'pending', context: 'Kiro' }),
      (e: { status?: number }) => e.status === 403,
    );
    const asBob = new Octokit({ baseUrl: gh.apiUrl, auth: bob.token });
    assert.equal(
      (
        await asBob.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
          owner: 'alice',
          repo: 'app',
          sha,
          state: 'success',
          context: 'Kiro',
          description: 'done',
        })
      ).status,
      201,
    );
    const r = await gh.webhooks.submitReview('alice', 'app', pr, 'alice', {
      body: '',
      comments: [{ path: 'src/a.ts', line: 2, body: 'hm' }],
    });
    const first = r.comments[0]!.id;
    const { data: reply } = await asBob.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies', {
      owner: 'alice',
      repo: 'app',
      pull_number: pr,
      comment_id: first,
      body: 'answered',
    });
    assert.equal(reply.in_reply_to_id, first);
  });
});
