// Red-team tests of identity and authorization (KIRO_AUTH=github) and of the token-less Host
// check, on the real worker against the GitHub stand-in: each an attack the worker resists (the
// first four were holes when a review found them, each fixed since).
// alice owns alice/app (private); bob may read it; carol has no access; dave and erin may write.
import assert from 'node:assert/strict';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitHubStandIn } from '../../support/github/server.js';
import { tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WORKER_TOKEN, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../../support/worker.js';
import type { AuthSession } from '../../../shared/protocol.js';
import type { AuditRecord } from '../../../shared/audit.js';

const SECRET = 'a-session-secret-of-at-least-32-bytes!';

describe('red team: identity and authorization', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let w: TestWorker;
  const users: Record<string, { token: string }> = {};
  const logLines: string[] = [];
  let seq = 0;
  const branch = (name: string) => `kiro/rt-${name}-${++seq}`;

  async function sessionAt(url: string, login: string): Promise<WorkerClient> {
    const res = await new WorkerClient(url, null).request('POST', '/auth/github', { token: users[login]?.token });
    assert.equal(res.status, 200, `${login}'s session: ${await res.clone().text()}`);
    return new WorkerClient(url, ((await res.json()) as AuthSession).token);
  }
  const session = (login: string) => sessionAt(w.url, login);
  const pr = (b: string, extra = '\n[scenario: no-change]') => makeTaskPr(gh, 'alice', 'app', b, b, extra);
  const submit = async (c: WorkerClient, b: string, number: number, over: Record<string, unknown> = {}) =>
    c.request('POST', '/generate-code', { ...jobRequest('alice', 'app', b, number, b), ...over });
  const go = async (jobId: string) => {
    const job = w.queue.jobs.get(jobId)!;
    await writeFile(join(w.queue.workspaces.slotDir(job.slotId ?? 0, 'alice', 'app'), 'GO'), '');
  };
  /** What one connection to /events sends until `until` matches (or a few seconds pass). */
  async function readEvents(c: WorkerClient, query: string, headers: Record<string, string> = {}, until = /event: slots/): Promise<string> {
    const ac = new AbortController();
    const r = await c.request('GET', `/events${query}`, undefined, headers, ac.signal);
    assert.equal(r.status, 200);
    const reader = r.body!.getReader();
    let text = '';
    const deadline = Date.now() + 3000;
    try {
      while (!until.test(text) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((res) => setTimeout(() => res(null), 300))]);
        if (chunk?.value) text += new TextDecoder().decode(chunk.value);
        if (chunk?.done) break;
      }
    } finally {
      ac.abort();
    }
    return text;
  }

  before(async function () {
    gh = await GitHubStandIn.start();
    for (const login of ['alice', 'bob', 'carol', 'dave', 'erin']) users[login] = gh.addUser(login);
    const bot = gh.addUser('kiro-bot');
    const repo = await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }], private: true });
    await repo.bare.updateRef('refs/heads/release', (await repo.bare.resolve('refs/heads/main')) ?? '', '');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    gh.grant('alice', 'app', 'bob', 'READ');
    gh.grant('alice', 'app', 'dave', 'WRITE');
    gh.grant('alice', 'app', 'erin', 'WRITE');
    w = await startWorker(
      workerEnv(gh, bot.token, await tempDir(), {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: SECRET,
        KIRO_BRANCH_PREFIX: 'kiro/',
        KIRO_USER_MAX_ACTIVE: '3',
      }),
      { logStream: { write: (line: string) => void logLines.push(line) } },
    );
  });

  after(async () => {
    await w?.close();
    await gh?.close();
  });

  // ---- holes ----

  it('a PR retargeted (another base) while the agent works is not pushed to: PR_CHANGED', async function () {
    const alice = await session('alice');
    const b = branch('retarget');
    const p = await pr(b, '\n[scenario: hold]');
    const { jobId } = (await (await submit(alice, b, p.number)).json()) as { jobId: string };
    await alice.waitFor(jobId, ['running']);
    const repo = gh.model.repo('alice', 'app')!;
    const head = await repo.bare.resolve(`refs/heads/${b}`);
    repo.pulls.find((x) => x.number === p.number)!.base = 'release';
    await go(jobId);
    const done = await alice.waitFor(jobId, ['failed', 'succeeded', 'no-changes']);
    assert.equal(
      await repo.bare.resolve(`refs/heads/${b}`),
      head,
      `pushed onto a PR that now targets release (job ${done.state}, ${JSON.stringify(done.error)})`,
    );
    assert.equal(done.error?.code, 'PR_CHANGED');
  });

  it('write permission removed while the job waits or runs (past the 60 s cache): nothing is pushed (asked again before the push)', async function () {
    const dave = await session('dave');
    const b = branch('revoked');
    const p = await pr(b, '\n[scenario: hold]');
    const res = await submit(dave, b, p.number);
    assert.equal(res.status, 202);
    const { jobId } = (await res.json()) as { jobId: string };
    await dave.waitFor(jobId, ['running']);
    const repo = gh.model.repo('alice', 'app')!;
    const head = await repo.bare.resolve(`refs/heads/${b}`);
    // The repository's admin removes dave's write access; a minute passes (the cache lapses).
    gh.grant('alice', 'app', 'dave', 'READ');
    (w.app.githubFacts as unknown as { cache: Map<string, unknown> }).cache.clear();
    assert.equal((await submit(dave, branch('revoked-again'), p.number)).status, 403, 'dave can no longer delegate');
    await go(jobId);
    const done = await dave.waitFor(jobId, ['failed', 'succeeded', 'no-changes']);
    gh.grant('alice', 'app', 'dave', 'WRITE');
    assert.equal(await repo.bare.resolve(`refs/heads/${b}`), head, `dave, now a reader, got code pushed (job ${done.state})`);
  });

  it('KIRO_TRUST_PROXY=1 takes the address the balancer appended, not the left-most X-Forwarded-For the client wrote: one client gets one bucket and cannot forge its audited address', async function () {
    const lb = await startWorker(
      workerEnv(gh, users['carol']!.token, await tempDir(), {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: SECRET,
        KIRO_RATE_LIMIT_PER_MIN: '20',
        KIRO_TRUST_PROXY: '1',
      }),
    );
    try {
      const anon = new WorkerClient(lb.url, null);
      // The one real client is 203.0.113.7: the balancer appends it; the client prepends what it likes.
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          anon
            .request('POST', '/auth/github', { token: `ghp_guess_${i}` }, { 'x-forwarded-for': `10.9.${i}.1, 203.0.113.7` })
            .then((r) => r.status),
        ),
      );
      const audit = (await (await new WorkerClient(lb.url, WORKER_TOKEN).request('GET', '/audit')).json()) as { records: AuditRecord[] };
      const ips = new Set(audit.records.map((r) => r.ip));
      assert.ok(
        statuses.includes(429),
        `60 guesses from one client in a minute with a limit of 20: ${statuses.filter((s) => s === 429).length} limited; audited addresses: ${[...ips].slice(0, 3).join(', ')}…`,
      );
      assert.ok(!ips.has('10.9.0.1'), 'the audit names an address the client made up');
    } finally {
      await lb.close();
    }
  });

  it('a GitHub user with access to nothing cannot make the worker spend its own GitHub credential on one permission question per made-up repository', async function () {
    const carol = await session('carol');
    gh.clearLog();
    const n = 40;
    const statuses = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        carol.request('POST', '/generate-code', jobRequest(`ghost${i}`, `repo${i}`, 'kiro/x', 1, 'x')).then((r) => r.status),
      ),
    );
    // Refused (403) while the budget lasts, then told to wait (429): never a question to GitHub for each.
    assert.ok(statuses.every((s) => s === 403 || s === 429) && statuses.includes(429), String(statuses));
    const spent = gh.count((r) => r.kind === 'rest' && r.user === 'kiro-bot');
    assert.ok(
      spent <= 5,
      `${n} refused submits cost ${spent} requests on the worker's credential (its 5,000/h budget is everyone's pushes and comments)`,
    );
  });

  // ---- attacks the worker resisted ----

  it("Last-Event-ID replay (feed.since) is filtered per caller: carol resuming after alice's job events does not get them", async function () {
    const [alice, carol] = await Promise.all([session('alice'), session('carol')]);
    const first = await readEvents(carol, '');
    const ids = [...first.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]!);
    assert.ok(ids.length > 0);
    const b = branch('replay');
    const p = await pr(b);
    const { jobId } = (await (await submit(alice, b, p.number)).json()) as { jobId: string };
    await alice.waitFor(jobId, ['no-changes', 'succeeded', 'failed']);
    assert.ok(
      w.app.eventFeed.since(Number(ids.at(-1)))!.some((e) => e.jobId === jobId),
      "the replay buffer holds alice's events",
    );
    for (const q of ['', `?jobs=${jobId}`]) {
      const replayed = await readEvents(carol, q, { 'last-event-id': ids.at(-1)! }, new RegExp(`${jobId}[\\s\\S]*no-changes`));
      assert.doesNotMatch(replayed, new RegExp(jobId), `carol's replay${q}`);
    }
    const bob = await session('bob');
    const bobs = await readEvents(bob, '', { 'last-event-id': ids.at(-1)! }, new RegExp(jobId));
    assert.match(bobs, new RegExp(jobId), 'a reader does get the replay');
  });

  it("idempotency-key reuse: bob (read) replaying alice's exact request is refused before the key is looked up; the requestedBy of a case-twisted login is the session's", async function () {
    const [alice, bob] = await Promise.all([session('alice'), session('bob')]);
    const b = branch('idem');
    const p = await pr(b);
    const body = jobRequest('alice', 'app', b, p.number, b);
    const mine = await alice.request('POST', '/generate-code', body);
    assert.equal(mine.status, 202);
    const theirs = await bob.request('POST', '/generate-code', body);
    assert.equal(theirs.status, 403);
    assert.ok(!(await theirs.text()).includes(((await mine.json()) as { jobId: string }).jobId));
    const upper = await bob.request('POST', '/generate-code', { ...body, owner: 'ALICE', repo: 'APP' });
    assert.equal(upper.status, 403, 'another case of owner/repo asks the same question');
    const b2 = branch('idem2');
    const p2 = await pr(b2);
    const twisted = await alice.request('POST', '/generate-code', {
      ...jobRequest('alice', 'app', b2, p2.number, b2),
      requestedBy: 'ALICE',
    });
    assert.equal(twisted.status, 202);
    assert.equal(
      (await alice.job(((await twisted.json()) as { jobId: string }).jobId)).requestedBy,
      'alice',
      "the verified login, not the body's spelling",
    );
  });

  it("one user's concurrent submits do not race past KIRO_USER_MAX_ACTIVE on one host", async function () {
    const erin = await session('erin');
    const prs = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const b = branch('race');
        return { b, p: await pr(b, '\n[scenario: hang]') };
      }),
    );
    const results = await Promise.all(
      prs.map(({ b, p }) =>
        submit(erin, b, p.number).then(async (r) => ({ status: r.status, body: (await r.json()) as { jobId?: string } })),
      ),
    );
    const accepted = results.filter((r) => r.status === 202);
    assert.ok(accepted.length <= 3, `${accepted.length} accepted with a limit of 3`);
    for (const r of accepted) await erin.request('POST', `/jobs/${r.body.jobId}/cancel`);
  });

  it("a user's GitHub token does not reach a log line on a validation error or a failed GitHub call", async function () {
    const anon = new WorkerClient(w.url, null);
    const secret = users['alice']!.token;
    await anon.request('POST', '/auth/github', { token: secret, extra: 1 });
    await anon.request('POST', '/auth/github', `{"token":"${secret}"`);
    gh.inject({ method: 'GET', path: /\/user$/, status: 500, times: 1 });
    const failed = await anon.request('POST', '/auth/github', { token: secret });
    assert.equal(failed.status, 502);
    assert.ok(!(await failed.text()).includes(secret));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(logLines.length > 0);
    for (const l of logLines) assert.ok(!l.includes(secret), `token in ${l}`);
  });

  it('token-less worker: only Host 127.0.0.1, localhost or [::1] with the port is served (case-insensitive); other spellings are 421', async function () {
    const open = await startWorker({ ...workerEnv(gh, '', await tempDir(), {}), KIRO_WORKER_TOKEN: '', KIRO_GITHUB_TOKEN: '' });
    try {
      const port = Number(new URL(open.url).port);
      const get = (host: string | string[]) =>
        new Promise<number>((resolve, reject) => {
          const options: RequestOptions = {
            host: '127.0.0.1',
            port,
            path: '/health',
            method: 'GET',
            setHost: false,
            headers: Array.isArray(host) ? host.flatMap((h) => ['Host', h]) : { host },
          };
          const req = httpRequest(options, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      for (const ok of [`127.0.0.1:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) assert.equal(await get(ok), 200, ok);
      for (const bad of [
        '127.0.0.1',
        `evil.example:${port}`,
        `127.0.0.1.:${port}`,
        `localhost.:${port}`,
        `[::ffff:127.0.0.1]:${port}`,
        `127.1:${port}`,
        `0x7f000001:${port}`,
        `localhost:${port}@evil.example`,
        `localhost:0${port}`,
      ]) {
        assert.notEqual(await get(bad), 200, bad);
      }
      const raw = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const sock = connect(port, '127.0.0.1', () => sock.end(text));
          let got = '';
          sock.on('data', (d) => {
            got += d.toString();
          });
          sock.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
          sock.on('error', reject);
        });
      assert.doesNotMatch(
        await raw(`GET /health HTTP/1.1\r\nHost: evil.example:${port}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
        / 200 /,
        'two Host headers',
      );
      assert.doesNotMatch(
        await raw(`GET http://127.0.0.1:${port}/health HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`),
        / 200 /,
        'an absolute URI with another Host',
      );
      assert.doesNotMatch(await raw(`GET /health HTTP/1.0\r\n\r\n`), / 200 /, 'HTTP/1.0 without Host');
    } finally {
      await open.close();
    }
  });

  it('sessions: HS256 only, our issuer, a signed sub; a session is not the worker token; the worker token is not a session secret', async function () {
    const now = Math.floor(Date.now() / 1000);
    const { SignJWT } = await import('../../support/jwt.js');
    const bad = [
      await new SignJWT({ sub: 'alice' }, WORKER_TOKEN.padEnd(32, 'x'))
        .issuer('kiro-delegate-worker')
        .expires(now + 600)
        .sign(),
      await new SignJWT({ sub: '' }, SECRET)
        .issuer('kiro-delegate-worker')
        .expires(now + 600)
        .sign(),
      `Basic ${Buffer.from(`x:${WORKER_TOKEN}`).toString('base64')}`,
    ];
    for (const t of bad) assert.equal((await new WorkerClient(w.url, t).request('GET', '/health')).status, 401);
    const alice = await session('alice');
    assert.equal((await alice.request('GET', '/audit')).status, 403);
  });
});
