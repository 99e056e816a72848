// Who is asking, and may they (KIRO_AUTH=github): sessions, the rules of who may push where,
// who may read and cancel, per-user limits and the audit trail, on the real worker against
// the GitHub stand-in. alice may write to alice/app, bob may read it, carol has no access,
// and ci[bot] is a bot account.
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from '../../support/jwt.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WORKER_TOKEN, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../../support/worker.js';
import type { AuthSession, JobList, JobStatus } from '../../../shared/protocol.js';
import type { AuditRecord } from '../../../shared/audit.js';

const SECRET = 'a-session-secret-of-at-least-32-bytes!';

describe('identity and authorization (KIRO_AUTH=github)', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let w: TestWorker;
  let stateDir: string;
  const users: Record<string, { token: string }> = {};
  const logLines: string[] = [];
  const admin = () => new WorkerClient(w.url, WORKER_TOKEN);
  let seq = 0;
  const branch = (name: string) => `kiro/${name}-${++seq}`;

  async function session(login: string): Promise<WorkerClient> {
    const res = await new WorkerClient(w.url, null).request('POST', '/auth/github', { token: users[login]?.token });
    assert.equal(res.status, 200, `${login}'s session: ${await res.clone().text()}`);
    const body = (await res.json()) as AuthSession;
    assert.equal(body.login, login);
    return new WorkerClient(w.url, body.token);
  }

  const pr = (b: string, extra = '\n[scenario: no-change]') => makeTaskPr(gh, 'alice', 'app', b, b, extra);
  const submit = async (c: WorkerClient, b: string, number: number, over: Record<string, unknown> = {}) =>
    c.request('POST', '/generate-code', { ...jobRequest('alice', 'app', b, number, b), ...over });
  const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { code: string; message: string }) });

  before(async function () {
    gh = await GitHubStandIn.start();
    for (const login of ['alice', 'bob', 'carol', 'ci[bot]']) users[login] = gh.addUser(login);
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }], private: true });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    gh.grant('alice', 'app', 'bob', 'READ');
    gh.grant('alice', 'app', 'ci[bot]', 'WRITE');
    stateDir = await tempDir();
    w = await startWorker(
      workerEnv(gh, bot.token, stateDir, {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: SECRET,
        KIRO_BRANCH_PREFIX: 'kiro/',
        KIRO_USER_MAX_ACTIVE: '5',
      }),
      { logStream: { write: (line: string) => void logLines.push(line) } },
    );
  });

  after(async () => {
    await w?.close();
    await gh?.close();
  });

  it('exchanges a GitHub token for a session once; a refused token, a bot, a forged, expired or other-secret session → 401 or 403', async function () {
    const anon = new WorkerClient(w.url, null);
    assert.deepEqual(await (await anon.request('GET', '/healthz')).json(), { ok: true, auth: 'github' });
    const alice = await session('alice');
    assert.equal((await alice.request('GET', '/health')).status, 200);
    const refused = await errorOf(await anon.request('POST', '/auth/github', { token: 'ghp_not_a_token_github_knows' }));
    assert.deepEqual([refused.status, refused.code], [401, 'GITHUB_TOKEN_REFUSED']);
    assert.match(refused.message, /GitHub refused this token/);
    const bot = await errorOf(await anon.request('POST', '/auth/github', { token: users['ci[bot]']?.token }));
    assert.deepEqual([bot.status, bot.code], [403, 'FORBIDDEN']);
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      await new SignJWT({ sub: 'alice' }, 'another-secret-of-at-least-32-bytes!!!')
        .issuer('kiro-delegate-worker')
        .expires(now + 600)
        .sign(),
      await new SignJWT({ sub: 'alice' }, SECRET)
        .issuer('kiro-delegate-worker')
        .expires(now - 10)
        .sign(),
      await new SignJWT({ sub: 'alice' }, SECRET)
        .issuer('someone-else')
        .expires(now + 600)
        .sign(),
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Imtpcm8tZGVsZWdhdGUtd29ya2VyIn0.',
    ];
    for (const [i, token] of forged.entries()) {
      const res = await errorOf(await new WorkerClient(w.url, token).request('GET', '/health'));
      assert.deepEqual([res.status, res.code], [401, 'UNAUTHORIZED'], `token ${i}`);
    }
    assert.match((await errorOf(await new WorkerClient(w.url, forged[1] ?? '').request('GET', '/health'))).message, /expired/);
  });

  it('alice (write) may delegate; bob (read) and carol (none) may not; nothing is queued for them', async function () {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(session));
    const b = branch('ok');
    const p = await pr(b);
    for (const [c, who] of [
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      const res = await errorOf(await submit(c!, b, p.number));
      assert.deepEqual([res.status, res.code], [403, 'FORBIDDEN'], who);
      assert.match(res.message, new RegExp(`${who} may not write to alice/app`));
    }
    assert.equal((await admin().request('GET', '/jobs?mine=1')).status, 400, 'the admin token names nobody');
    const accepted = await submit(alice!, b, p.number);
    assert.equal(accepted.status, 202);
    const { jobId } = (await accepted.json()) as { jobId: string };
    const job = await alice!.waitFor(jobId, ['no-changes']);
    assert.equal(job.requestedBy, 'alice', 'the verified login');
    const jobs = [...w.queue.jobs.values()].filter((j) => j.request.branch === b);
    assert.equal(jobs.length, 1, "only alice's job was queued");
  });

  it('refuses pushes the PR does not allow, whoever asks: main, no prefix, another head, a closed PR, a fork, another base; nothing queued, pushed or commented', async function () {
    const alice = await session('alice');
    const repo = gh.model.repo('alice', 'app');
    assert.ok(repo);
    const mainBefore = await repo.bare.resolve('refs/heads/main');
    const ok = branch('target');
    const p = await pr(ok);
    const other = branch('other');
    const otherPr = await pr(other);
    const closed = branch('closed');
    const closedPr = await pr(closed);
    gh.model.repo('alice', 'app')!.pulls.find((x) => x.number === closedPr.number)!.state = 'closed';
    await gh.createRepo('carol', 'app', { files: [{ path: 'README.md', contents: '# fork\n' }] });
    const fork = branch('fork');
    const forkPr = await pr(fork);
    const forkPull = repo.pulls.find((x) => x.number === forkPr.number);
    assert.ok(forkPull);
    forkPull.headRepo = 'carol/app';
    await makeTaskPr(gh, 'alice', 'app', 'plain-branch', 'plain');
    const plainPr = repo.pulls.at(-1)!;
    const cases: [string, Response, number, string][] = [
      ['main as the branch', await submit(alice, 'main', p.number, { baseBranch: 'develop' }), 403, 'FORBIDDEN_BRANCH'],
      ['a branch without the prefix', await submit(alice, 'plain-branch', plainPr.number), 403, 'FORBIDDEN_BRANCH'],
      ['a PR whose head is another branch', await submit(alice, ok, otherPr.number), 409, 'PR_MISMATCH'],
      ['a closed PR', await submit(alice, closed, closedPr.number), 409, 'PR_MISMATCH'],
      ["a fork's PR", await submit(alice, fork, forkPr.number), 409, 'PR_MISMATCH'],
      ['another base', await submit(alice, ok, p.number, { baseBranch: 'release' }), 409, 'PR_MISMATCH'],
      ['a PR that does not exist', await submit(alice, ok, 999), 409, 'PR_MISMATCH'],
    ];
    for (const [what, res, status, code] of cases) {
      const e = await errorOf(res);
      assert.deepEqual([e.status, e.code], [status, code], `${what}: ${e.message}`);
    }
    for (const b of ['main', 'plain-branch', closed, fork])
      assert.equal([...w.queue.jobs.values()].filter((j) => j.request.branch === b).length, 0, `nothing queued for ${b}`);
    assert.equal(await repo.bare.resolve('refs/heads/main'), mainBefore, 'main untouched');
    assert.equal(
      repo.comments.filter((c) => [closedPr.number, forkPr.number, otherPr.number].includes(c.issueNumber)).length,
      0,
      'no comments',
    );
    // A body that names another requester is refused: requestedBy is the verified login.
    const named = await errorOf(await submit(alice, ok, p.number, { requestedBy: 'bob' }));
    assert.deepEqual([named.status, named.code], [400, 'BAD_REQUEST']);
  });

  it("carol gets 404 for alice's job, its log and its events; bob sees it but may not cancel it (403); alice may", async function () {
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(session));
    const b = branch('private');
    const p = await pr(b, '\n[scenario: hang]');
    const res = await submit(alice!, b, p.number);
    const { jobId } = (await res.json()) as { jobId: string };
    await alice!.waitFor(jobId, ['running']);
    for (const path of [`/jobs/${jobId}`, `/jobs/${jobId}/log`]) assert.equal((await carol!.request('GET', path)).status, 404, path);
    assert.equal((await carol!.request('POST', `/jobs/${jobId}/cancel`)).status, 404);
    // carol's event stream (no filter, and asking for the job by id) never names it; her /health hides its id.
    const seen = async (c: WorkerClient, query: string) => {
      const ac = new AbortController();
      const r = await c.request('GET', `/events${query}`, undefined, {}, ac.signal);
      const reader = r.body!.getReader();
      let text = '';
      await pollUntil(
        async () => {
          const { value } = await reader.read();
          text += new TextDecoder().decode(value);
          return text.includes('event: slots');
        },
        { timeoutMs: 10_000, what: 'the snapshot' },
      );
      ac.abort();
      return text;
    };
    for (const q of ['', `?jobs=${jobId}`]) assert.doesNotMatch(await seen(carol!, q), new RegExp(jobId), `carol's events${q}`);
    assert.match(await seen(bob!, ''), new RegExp(jobId), 'bob may read');
    const carolHealth = (await (await carol!.request('GET', '/health')).json()) as { slots: { jobId: string | null }[] };
    assert.ok(carolHealth.slots.every((s) => s.jobId !== jobId));
    const bobHealth = (await (await bob!.request('GET', '/health')).json()) as { slots: { jobId: string | null }[] };
    assert.ok(
      bobHealth.slots.some((s) => s.jobId === jobId),
      "bob sees the busy slot's job",
    );
    assert.equal((await bob!.job(jobId)).state, 'running');
    const bobCancel = await errorOf(await bob!.request('POST', `/jobs/${jobId}/cancel`));
    assert.deepEqual([bobCancel.status, bobCancel.code], [403, 'FORBIDDEN']);
    assert.equal((await alice!.job(jobId)).state, 'running', 'still running after the refused cancels');
    const cancelled = await alice!.request('POST', `/jobs/${jobId}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as JobStatus).state, 'cancelled');
  });

  it("GET /jobs?mine=1 pages through the caller's own jobs, newest first", async function () {
    const [alice, bob] = await Promise.all([session('alice'), session('bob')]);
    const b = branch('listed');
    const made = (await (await submit(alice, b, (await pr(b)).number)).json()) as { jobId: string };
    const first = await alice.request('GET', '/jobs?mine=1&limit=2');
    const page = (await first.json()) as JobList;
    assert.equal(page.jobs.length, 2);
    assert.equal(page.jobs[0]?.jobId, made.jobId, 'the newest first');
    assert.ok(page.jobs.every((j) => j.requestedBy === 'alice'));
    assert.ok(Date.parse(page.jobs[0].createdAt) >= Date.parse(page.jobs[1]!.createdAt));
    assert.ok(page.nextCursor);
    const all: JobStatus[] = [...page.jobs];
    for (let cursor: string | null = page.nextCursor; cursor;) {
      const next = (await (await alice.request('GET', `/jobs?mine=1&limit=2&cursor=${cursor}`)).json()) as JobList;
      all.push(...next.jobs);
      cursor = next.nextCursor;
    }
    const ids = all.map((j) => j.jobId);
    assert.equal(new Set(ids).size, ids.length, 'no job twice');
    assert.deepEqual(
      ids.sort(),
      [...w.queue.jobs.values()]
        .filter((j) => j.request.requestedBy === 'alice')
        .map((j) => j.id)
        .sort(),
    );
    assert.deepEqual(((await (await bob.request('GET', '/jobs?mine=1')).json()) as JobList).jobs, [], 'bob delegated nothing');
  });

  it('the PR closed while the agent works → PR_CHANGED, nothing pushed', async function () {
    const alice = await session('alice');
    const b = branch('closing');
    const p = await pr(b, '\n[scenario: hold]');
    const { jobId } = (await (await submit(alice, b, p.number)).json()) as { jobId: string };
    await alice.waitFor(jobId, ['running']);
    const repo = gh.model.repo('alice', 'app')!;
    const head = await repo.bare.resolve(`refs/heads/${b}`);
    repo.pulls.find((x) => x.number === p.number)!.state = 'closed';
    const job = w.queue.jobs.get(jobId)!;
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(join(w.queue.workspaces.slotDir(job.slotId ?? 0, 'alice', 'app'), 'GO'), ''),
    );
    const done = await alice.waitFor(jobId, ['failed', 'succeeded']);
    assert.equal(done.error?.code, 'PR_CHANGED', JSON.stringify(done.error));
    assert.equal(await repo.bare.resolve(`refs/heads/${b}`), head, 'nothing pushed');
  });

  it('an unauthenticated flood from one address never gets alice (same address) a 429', async function () {
    // A worker of its own, with the default limit of 600 a minute: the tests' worker allows far more for its pollers.
    const limited = await startWorker(
      workerEnv(gh, users['carol']!.token, await tempDir(), {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: SECRET,
        KIRO_RATE_LIMIT_PER_MIN: '600',
      }),
    );
    try {
      const res = await new WorkerClient(limited.url, null).request('POST', '/auth/github', { token: users['alice']?.token });
      const alice = new WorkerClient(limited.url, ((await res.json()) as AuthSession).token);
      const anon = new WorkerClient(limited.url, null);
      const statuses = await Promise.all(Array.from({ length: 700 }, () => anon.request('GET', '/health').then((r) => r.status)));
      assert.ok(statuses.includes(429), 'the flood itself is limited');
      assert.ok(statuses.every((s) => s === 401 || s === 429));
      assert.equal((await alice.request('GET', '/health')).status, 200, 'alice is not limited by it');
    } finally {
      await limited.close();
    }
  });

  it('KIRO_TRUST_PROXY=1: behind a load balancer each client address (X-Forwarded-For) has its own bucket; without it, the header is not believed', async function () {
    const flood = async (url: string, forwardedFor: string, n: number) => {
      const anon = new WorkerClient(url, null);
      return Promise.all(
        Array.from({ length: n }, () =>
          anon.request('GET', '/health', undefined, { 'x-forwarded-for': forwardedFor }).then((r) => r.status),
        ),
      );
    };
    for (const trust of ['1', '0']) {
      const lb = await startWorker(
        workerEnv(gh, users['carol']!.token, await tempDir(), {
          KIRO_AUTH: 'github',
          KIRO_SESSION_SECRET: SECRET,
          KIRO_RATE_LIMIT_PER_MIN: '50',
          KIRO_TRUST_PROXY: trust,
        }),
      );
      try {
        assert.ok((await flood(lb.url, '203.0.113.7', 60)).includes(429), 'one address floods');
        const other = await flood(lb.url, '198.51.100.9', 5);
        if (trust === '1')
          assert.ok(
            other.every((s) => s === 401),
            `another address behind the balancer is not limited: ${other.join(',')}`,
          );
        else
          assert.ok(
            other.every((s) => s === 429),
            `without KIRO_TRUST_PROXY every request is the balancer's: ${other.join(',')}`,
          );
      } finally {
        await lb.close();
      }
    }
  });

  it("alice's sixth active job → 429 with Retry-After and a message that says why; her first five run", async function () {
    const alice = await session('alice');
    const held: string[] = [];
    for (let i = 0; i < 5; i++) {
      const b = branch('quota');
      const p = await pr(b, '\n[scenario: hang]');
      const res = await submit(alice, b, p.number);
      assert.equal(res.status, 202, `job ${i + 1}: ${await res.clone().text()}`);
      held.push(((await res.json()) as { jobId: string }).jobId);
    }
    const b = branch('quota');
    const p = await pr(b);
    const sixth = await submit(alice, b, p.number);
    assert.equal(sixth.status, 429);
    assert.ok(Number(sixth.headers.get('retry-after')) > 0);
    const e = (await sixth.json()) as { code: string; message: string };
    assert.equal(e.code, 'QUOTA_EXCEEDED');
    assert.match(e.message, /5 delegations of yours are in flight/);
    // They run (two slots) or wait their turn: none was refused.
    for (const id of held) assert.ok(['queued', 'preparing', 'running'].includes((await alice.job(id)).state));
    for (const id of held) await alice.request('POST', `/jobs/${id}/cancel`);
  });

  it('keeps an audit record of each session, submit, cancel and refusal; GET /audit answers the admin only', async function () {
    const alice = await session('alice');
    assert.equal((await alice.request('GET', '/audit')).status, 403);
    const res = await admin().request('GET', `/audit?since=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
    assert.equal(res.status, 200);
    const { records } = (await res.json()) as { records: AuditRecord[] };
    const has = (pred: (r: AuditRecord) => boolean, what: string) => assert.ok(records.some(pred), what);
    has((r) => r.action === 'session' && r.outcome === 'ok' && r.caller === 'alice', 'a session');
    has((r) => r.action === 'session' && r.outcome === 'refused' && r.code === 'GITHUB_TOKEN_REFUSED', 'a refused session');
    has((r) => r.action === 'submit' && r.outcome === 'ok' && r.caller === 'alice' && !!r.jobId && r.repo === 'app', 'a submit');
    has((r) => r.action === 'submit' && r.outcome === 'refused' && r.caller === 'carol' && r.code === 'FORBIDDEN', 'carol refused');
    has((r) => r.action === 'submit' && r.outcome === 'refused' && r.code === 'FORBIDDEN_BRANCH', 'a branch refused');
    has((r) => r.action === 'submit' && r.outcome === 'refused' && r.code === 'QUOTA_EXCEEDED', 'the quota');
    has((r) => r.action === 'cancel' && r.outcome === 'refused' && r.caller === 'bob' && r.code === 'FORBIDDEN', "bob's cancel refused");
    has((r) => r.action === 'cancel' && r.outcome === 'ok' && r.caller === 'alice', "alice's cancel");
    assert.ok(
      records.every((r) => r.requestId && r.ip && r.time),
      'request id, address and time on each',
    );
    const file = await readFile(join(stateDir, 'audit.jsonl'), 'utf8');
    assert.equal(file.trim().split('\n').length, records.length, 'the same records are in audit.jsonl');
    assert.ok(
      logLines.some((l) => /"audit":true/.test(l) && /"action":"submit"/.test(l)),
      'and in the log',
    );
    assert.ok(
      logLines.some((l) => /"caller":"alice"/.test(l)),
      'log lines name the caller',
    );
  });

  it('no GitHub token appears in a log line, job record, audit record or state file', async function () {
    const tokens = ['alice', 'bob', 'carol', 'ci[bot]'].map((l) => users[l]!.token);
    const haystacks: [string, string][] = logLines.map((l, i) => [`log line ${i}`, l]);
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'mirrors' && entry.name !== 'slots') await walk(path);
        } else if ((await stat(path)).size < 10_000_000) haystacks.push([path, await readFile(path, 'latin1')]);
      }
    };
    await walk(stateDir);
    assert.ok(haystacks.length > 10, `looked at ${haystacks.length} places`);
    for (const [where, text] of haystacks) for (const t of tokens) assert.ok(!text.includes(t), `a GitHub token in ${where}`);
  });
});
