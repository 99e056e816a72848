// The worker's HTTP surface: auth, validation of hostile input, allow-list,
// idempotency, a missing agent, and PR comments through the GitHub stand-in.
import assert from 'node:assert/strict';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WorkerClient, makeTaskPr, jobRequest, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';

describe('worker API', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  let w: TestWorker;
  let c: WorkerClient;
  let started = 0;

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    await gh.createRepo('alice', 'other');
    await gh.createRepo('mallory', 'evil');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    // No injected commenter: PR comments go through Octokit to the stand-in.
    w = await startWorker(workerEnv(gh, bot.token, await tempDir(), { KIRO_REPO_ALLOWLIST: 'alice/*', KIRO_BODY_LIMIT_BYTES: '262144' }));
    w.queue.on('agent-started', () => started++);
    c = new WorkerClient(w.url);
  });
  after(async () => {
    await w.close();
    await gh.close();
  });

  it('GET /healthz needs no token and says nothing else; everything else needs the token', async function () {
    const anon = new WorkerClient(w.url, null);
    const hz = await anon.request('GET', '/healthz');
    assert.equal(hz.status, 200);
    assert.deepEqual(await hz.json(), { ok: true, auth: 'token' });
    for (const [method, path] of [
      ['GET', '/health'],
      ['POST', '/generate-code'],
      ['GET', '/jobs/abc'],
      ['POST', '/jobs/abc/cancel'],
      ['GET', '/jobs/abc/log'],
    ] as const) {
      const res = await anon.request(method, path, method === 'POST' ? {} : undefined);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
    const wrong = new WorkerClient(w.url, 'x'.repeat(WORKER_TOKEN.length));
    assert.equal((await wrong.request('GET', '/health')).status, 401);
    assert.equal((await c.request('GET', '/health', undefined, { authorization: `Basic ${WORKER_TOKEN}` })).status, 401);
  });

  it('reports pool health: slots, capacity, version, the agent', async function () {
    const h = (await (await c.request('GET', '/health')).json()) as {
      slots: { id: number; state: string }[];
      capacity: number;
      version: string;
      agent: { found: boolean };
      uptimeSeconds: number;
      accepting: boolean;
    };
    assert.equal(h.capacity, 2);
    assert.deepEqual(
      h.slots.map((s) => [s.id, s.state]),
      [
        [0, 'idle'],
        [1, 'idle'],
      ],
    );
    assert.equal(h.agent.found, true);
    assert.equal(h.accepting, true);
    assert.match(h.version, /^\d+\.\d+\.\d+/);
  });

  it('answers every hostile request with a clear 4xx, runs nothing, and keeps serving', async function () {
    const good = jobRequest('alice', 'app', 'feature-1', 1, 'Good');
    const bodies: [string, unknown, number, string?][] = [];
    const fields = ['owner', 'repo', 'branch', 'baseBranch', 'title', 'taskDescription', 'idempotencyKey'] as const;
    for (const f of ['owner', 'repo', 'branch', 'baseBranch', 'idempotencyKey'] as const) {
      for (const evil of ['$(touch /tmp/pwned)', 'a;rm -rf /', 'x\ny', '`id`', '| cat /etc/passwd'])
        bodies.push([`${f}=${JSON.stringify(evil)}`, { ...good, [f]: evil }, 400, f]);
    }
    bodies.push(['branch ..', { ...good, branch: 'a..b' }, 400, 'branch']);
    bodies.push(['branch --upload-pack', { ...good, branch: '--upload-pack=touch /tmp/x' }, 400, 'branch']);
    bodies.push(['branch -c', { ...good, branch: '-c' }, 400, 'branch']);
    bodies.push(['branch .lock', { ...good, branch: 'x.lock' }, 400, 'branch']);
    bodies.push(['branch = base', { ...good, branch: 'main' }, 400, 'branch']);
    bodies.push(['owner traversal', { ...good, owner: '../..' }, 400, 'owner']);
    bodies.push(['repo traversal', { ...good, repo: '../../etc' }, 400, 'repo']);
    bodies.push(['repo ..', { ...good, repo: '..' }, 400, 'repo']);
    bodies.push(['repo .git', { ...good, repo: 'app.git' }, 400, 'repo']);
    bodies.push(['prNumber string', { ...good, prNumber: '1' }, 400, 'prNumber']);
    bodies.push(['prNumber negative', { ...good, prNumber: -1 }, 400, 'prNumber']);
    bodies.push(['prNumber float', { ...good, prNumber: 1.5 }, 400, 'prNumber']);
    bodies.push(['title number', { ...good, title: 42 }, 400, 'title']);
    bodies.push(['title empty', { ...good, title: '' }, 400, 'title']);
    bodies.push(['missing owner', { ...good, owner: undefined }, 400, 'owner']);
    bodies.push(['extra field', { ...good, shell: 'bash' }, 400, 'shell']);
    bodies.push(['array body', [good], 400]);
    bodies.push(['null body', 'null', 400]);
    bodies.push(['not json', '{"owner": ', 400]);
    bodies.push(['10 MB body', { ...good, taskDescription: 'x'.repeat(10 * 1024 * 1024) }, 413]);
    bodies.push(['outside allow-list', { ...good, owner: 'mallory', repo: 'evil' }, 403, 'repo']);
    for (const f of fields) bodies.push([`${f} with NUL`, { ...good, [f]: 'a\u0000b' }, 400, f]);
    bodies.push(['title with newline', { ...good, title: 'a\nb' }, 400, 'title']);
    for (const evil of ['-alice', 'al--ice', 'alice[bot]', '$(id)', 'a\nb', 'x'.repeat(40)])
      bodies.push([`requestedBy=${JSON.stringify(evil)}`, { ...good, requestedBy: evil }, 400, 'requestedBy']);
    bodies.push(['draft string', { ...good, draft: 'true' }, 400, 'draft']);
    assert.ok(bodies.length >= 30, `${bodies.length} cases`);

    const jobsBefore = w.queue.jobs.size;
    for (const [what, body, status, field] of bodies) {
      const res = await c.request('POST', '/generate-code', typeof body === 'string' ? body : body);
      const json = (await res.json()) as { code: string; message: string; field?: string };
      assert.equal(res.status, status, `${what}: ${JSON.stringify(json)}`);
      assert.ok(json.code && json.message, `${what} has a code and a message`);
      if (field) assert.equal(json.field, field, `${what} names ${field}: ${JSON.stringify(json)}`);
    }
    const nonJson = await c.request('POST', '/generate-code', 'owner=alice', { 'content-type': 'text/plain' });
    assert.equal(nonJson.status, 415);
    assert.equal(w.queue.jobs.size, jobsBefore, 'no job was created');
    assert.equal(started, 0, 'no agent ran');
    assert.equal((await c.request('GET', '/healthz')).status, 200, 'still serving');
    assert.equal((await c.request('GET', '/jobs/..%2F..%2Fetc%2Fpasswd')).status, 400);
    assert.equal((await c.request('GET', '/jobs/nope')).status, 404);
  });

  it('returns the same job for the same idempotency key, never a second one', async function () {
    const pr = await makeTaskPr(gh, 'alice', 'app', 'idem-1', 'Idem', '\n[scenario: no-change]');
    const req = jobRequest('alice', 'app', 'idem-1', pr.number, 'Idem', 'PR1764000000001');
    const [a, b] = await Promise.all([c.request('POST', '/generate-code', req), c.request('POST', '/generate-code', req)]);
    const [ja, jb] = (await Promise.all([a.json(), b.json()])) as { jobId: string }[];
    assert.equal(ja?.jobId, jb?.jobId);
    assert.deepEqual([a.status, b.status].sort(), [200, 202], JSON.stringify([ja, jb]));
    const later = await c.submit(req);
    assert.equal(later.jobId, ja?.jobId);
    // The key for a pull request that does not exist (or is not this branch's) is refused before the key is looked at.
    const conflict = await c.request('POST', '/generate-code', { ...req, prNumber: req.prNumber + 100 });
    assert.equal(conflict.status, 409);
    assert.deepEqual((await conflict.json()) as { code: string; field: string }, {
      code: 'PR_MISMATCH',
      field: 'prNumber',
      message: `alice/app has no pull request #${req.prNumber + 100}`,
    });
    // The same key on another repository (or branch) is another job: two users may share a millisecond.
    const otherPr = await makeTaskPr(gh, 'alice', 'other', 'idem-1', 'Idem');
    const other = await c.submit({ ...req, repo: 'other', prNumber: otherPr.number });
    assert.notEqual(other.jobId, ja?.jobId);
    await c.waitFor(ja?.jobId ?? '', ['no-changes', 'failed', 'succeeded']);
    await c.waitFor(other.jobId, ['no-changes', 'failed', 'succeeded']);
    assert.equal([...w.queue.jobs.values()].filter((j) => j.request.idempotencyKey === 'PR1764000000001').length, 2);
  });

  it('comments on the PR through GitHub when the agent made no changes', async function () {
    const pr = await makeTaskPr(gh, 'alice', 'app', 'comment-1', 'Comment', '\n[scenario: no-change]');
    const job = await c.submit(jobRequest('alice', 'app', 'comment-1', pr.number, 'Comment'));
    await c.waitFor(job.jobId, ['no-changes']);
    const comment = await pollUntil(() => gh.model.repo('alice', 'app')?.comments.find((x) => x.issueNumber === pr.number), {
      what: 'a PR comment',
    });
    assert.equal(comment.author, 'kiro-bot');
    assert.match(comment.body, /finished without changing any file/);
    assert.match(comment.body, /Nothing to change/);
  });

  it('fails jobs plainly when the agent is not installed, and says so in /health', async function () {
    const w2 = await startWorker(
      workerEnv(gh, bot.token, await tempDir(), { KIRO_AGENT_COMMAND: '["kiro-cli-not-installed","chat","{prompt}"]' }),
    );
    try {
      const c2 = new WorkerClient(w2.url);
      const h = (await (await c2.request('GET', '/health')).json()) as { agent: { found: boolean; message: string } };
      assert.equal(h.agent.found, false);
      assert.match(h.agent.message, /not found on PATH.*KIRO_AGENT_COMMAND/);
      const pr = await makeTaskPr(gh, 'alice', 'app', 'missing-agent', 'Missing');
      const job = await c2.submit(jobRequest('alice', 'app', 'missing-agent', pr.number, 'Missing'));
      const done = await c2.waitFor(job.jobId, ['failed']);
      assert.equal(done.error?.code, 'AGENT_NOT_FOUND');
      assert.match(done.error?.message ?? '', /KIRO_AGENT_COMMAND/);
      // The slot is given back just after the job's end is recorded: once it is, none rests as after a crash.
      await pollUntil(() => w2.queue.slots.every((s) => s.state !== 'busy'), { what: 'the slot to be given back' });
      assert.equal(
        w2.queue.slots.every((s) => s.state === 'idle'),
        true,
        'a missing agent is not a crash',
      );
    } finally {
      await w2.close();
    }
  });

  it('rate-limits each client (429 with a retry hint) and keeps serving others', async function () {
    const w3 = await startWorker(workerEnv(gh, bot.token, await tempDir(), { KIRO_RATE_LIMIT_PER_MIN: '5' }));
    try {
      const c3 = new WorkerClient(w3.url);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await c3.request('GET', '/health')).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const limited = await c3.request('GET', '/health');
      assert.equal(((await limited.json()) as { code: string }).code, 'RATE_LIMITED');
      assert.ok(limited.headers.get('retry-after'));
    } finally {
      await w3.close();
    }
  });
});
