// Who the extension is to the worker (worker/session.ts + the client): a token
// worker gets the worker token as before; a KIRO_AUTH=github worker gets a session
// exchanged once for the GitHub token, renewed before it lapses and once after a
// 401, shared by concurrent requests; the GitHub token goes to POST /auth/github of
// the configured worker and nowhere else; plain HTTP to another machine carries no
// credential without the user's agreement. A fake worker behind a fake fetch.
import assert from 'node:assert/strict';
import { WorkerApi, parseRetryAfter, sendJob } from '../../../extension/worker/client.js';
import { WorkerAuth, renewAt, sessionSecretKey } from '../../../extension/worker/session.js';
import type { GenerateCodeRequest } from '../../../shared/protocol.js';
import { urlOf } from '../../support/helpers.js';
import { MemorySecrets } from '../../support/memorySecrets.js';

const BASE = 'https://worker.example.com';
const GH_TOKEN = 'gho_userGitHubToken0123456789';
const GH_TOKEN_BOB = 'gho_bobsGitHubToken9876543210';
const WORKER_TOKEN = 'worker-token-0123456789';
const MIN = 60_000;

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  redirect: string | undefined;
}

/** A worker in `github` or `token` mode, answering what the extension asks, on a clock the test moves. */
function fakeWorker(opts: {
  mode?: 'github' | 'token' | 'none';
  lifeMs?: number;
  clock: { now: number };
  refuseGitHub?: boolean;
  quota?: boolean;
}) {
  const seen: Seen[] = [];
  const sessions = new Map<string, number>(); // token -> expiry on the worker's clock
  let issued = 0;
  const state = { mode: opts.mode ?? 'github', gate: undefined as Promise<void> | undefined };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const fetchImpl = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(urlOf(input));
    const headers = Object.fromEntries(
      Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
    );
    seen.push({
      method: init.method ?? 'GET',
      url: url.href,
      headers,
      body: typeof init.body === 'string' ? init.body : undefined,
      redirect: init.redirect,
    });
    if (url.origin !== BASE) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
    if (url.pathname === '/healthz') return json(200, state.mode === 'none' ? { ok: true } : { ok: true, auth: state.mode });
    if (url.pathname === '/auth/github' && init.method === 'POST') {
      if (state.gate) await state.gate;
      const body = JSON.parse(init.body as string) as { token: string };
      if (opts.refuseGitHub || (body.token !== GH_TOKEN && body.token !== GH_TOKEN_BOB))
        return json(401, { code: 'GITHUB_TOKEN_REFUSED', message: 'GitHub says: Bad credentials' });
      const token = `session-${++issued}`;
      const expires = opts.clock.now + (opts.lifeMs ?? 60 * MIN);
      sessions.set(token, expires);
      return json(200, { token, login: body.token === GH_TOKEN ? 'alice' : 'bob', expiresAt: new Date(expires).toISOString() });
    }
    const bearer = (headers.authorization ?? '').replace(/^Bearer /, '');
    const ok = state.mode === 'github' ? (sessions.get(bearer) ?? 0) > opts.clock.now : bearer === WORKER_TOKEN;
    if (!ok) return json(401, { code: 'UNAUTHORIZED', message: 'the session expired' });
    if (url.pathname === '/health')
      return json(200, {
        slots: [],
        queued: 0,
        running: 0,
        capacity: 1,
        queueLimit: 1,
        accepting: true,
        agent: { command: 'kiro-cli', found: true, message: '' },
        version: '1',
        protocol: 1,
        uptimeSeconds: 1,
      });
    if (url.pathname === '/generate-code') {
      if (opts.quota)
        return json(
          429,
          { code: 'QUOTA_EXCEEDED', message: '5 delegations of yours are in flight; the next can start when one ends' },
          { 'retry-after': '300' },
        );
      return json(202, { jobId: 'job-1', state: 'queued', position: 0 });
    }
    return json(404, { code: 'NOT_FOUND', message: 'no such route' });
  }) as typeof fetch;
  return { seen, fetch: fetchImpl, sessions, state, revoke: () => sessions.clear() };
}

function setUp(
  over: {
    mode?: 'github' | 'token' | 'none';
    lifeMs?: number;
    refuseGitHub?: boolean;
    quota?: boolean;
    github?: string | undefined;
    transport?: boolean;
    secrets?: MemorySecrets;
  } = {},
) {
  const clock = { now: Date.parse('2025-06-01T12:00:00Z') };
  const w = fakeWorker({ ...over, clock });
  const secrets = over.secrets ?? new MemorySecrets();
  const calls = { github: 0, worker: 0 };
  const user = { token: 'github' in over ? over.github : GH_TOKEN };
  const auth = new WorkerAuth({
    baseUrl: BASE,
    fetch: w.fetch,
    secrets,
    now: () => clock.now,
    workerToken: async () => {
      calls.worker++;
      return WORKER_TOKEN;
    },
    githubToken: async () => {
      calls.github++;
      return user.token;
    },
    mayCarryCredentials: async () =>
      over.transport === false ? { ok: false, message: 'Kiro did not send your credentials over plain HTTP.' } : { ok: true },
  });
  const api = new WorkerApi({ baseUrl: BASE, credentials: auth, fetch: w.fetch });
  return { clock, w, secrets, auth, api, calls, user };
}

const req: GenerateCodeRequest = {
  owner: 'alice',
  repo: 'app',
  branch: 'kiro/x-1',
  prNumber: 1,
  baseBranch: 'main',
  title: 'X',
  taskDescription: '# X\n',
  idempotencyKey: 'PR1',
};
const to = (seen: Seen[], path: string) => seen.filter((s) => new URL(s.url).pathname === path);

/** The GitHub token appears in no URL and no header, and in no body but POST <worker>/auth/github's. */
function assertGitHubTokenOnlyExchanged(seen: Seen[]): void {
  for (const s of seen) {
    assert.ok(!s.url.includes(GH_TOKEN), `GitHub token in a URL: ${s.url}`);
    assert.ok(!Object.values(s.headers).some((v) => v.includes(GH_TOKEN)), `GitHub token in a header of ${s.method} ${s.url}`);
    if (s.body?.includes(GH_TOKEN)) assert.equal(`${s.method} ${s.url}`, `POST ${BASE}/auth/github`);
  }
}

describe('worker sessions (KIRO_AUTH=github) and the worker token', function () {
  it('token mode, and an older worker that does not say: the worker token as before, no exchange, the GitHub token never asked', async function () {
    for (const mode of ['token', 'none'] as const) {
      const { api, w, calls } = setUp({ mode });
      assert.equal((await api.submit(req)).kind, 'accepted');
      assert.equal((await api.health()).kind, 'ok');
      assert.equal(to(w.seen, '/auth/github').length, 0);
      assert.equal(calls.github, 0, 'no GitHub token is even fetched');
      assert.deepEqual(
        to(w.seen, '/generate-code').map((s) => s.headers.authorization),
        [`Bearer ${WORKER_TOKEN}`],
      );
      assert.equal(to(w.seen, '/healthz').length, 1, 'the mode is asked once');
    }
  });

  it('github mode: one exchange, then the session on every request; kept in SecretStorage per worker URL, reused after a restart', async function () {
    const { api, w, secrets, auth } = setUp();
    assert.equal((await api.submit(req)).kind, 'accepted');
    assert.equal((await api.health()).kind, 'ok');
    assert.equal(auth.exchanges, 1);
    const exchange = to(w.seen, '/auth/github');
    assert.equal(exchange.length, 1);
    assert.deepEqual(JSON.parse(exchange[0]!.body ?? ''), { token: GH_TOKEN });
    assert.equal(exchange[0]!.headers.authorization, undefined, 'the exchange itself carries no Authorization header');
    assert.deepEqual(
      [...to(w.seen, '/generate-code'), ...to(w.seen, '/health')].map((s) => s.headers.authorization),
      ['Bearer session-1', 'Bearer session-1'],
    );
    assert.ok(
      !JSON.stringify([...to(w.seen, '/generate-code'), ...to(w.seen, '/health')]).includes(WORKER_TOKEN),
      'the worker token is not sent in github mode',
    );
    assert.equal(auth.login, 'alice');
    const kept = JSON.parse(secrets.data.get(sessionSecretKey(BASE)) ?? '{}') as { token?: string };
    assert.equal(kept.token, 'session-1');
    assert.equal(sessionSecretKey(`${BASE}/`), sessionSecretKey(BASE));
    assert.notEqual(sessionSecretKey('https://other.example.com'), sessionSecretKey(BASE));
    // A new window (a new WorkerAuth) with the same SecretStorage: no new exchange.
    const again = setUp({ secrets });
    again.w.sessions.set('session-1', again.clock.now + 30 * MIN);
    assert.equal((await again.api.health()).kind, 'ok');
    assert.equal(again.auth.exchanges, 0);
    assert.equal(to(again.w.seen, '/health')[0]?.headers.authorization, 'Bearer session-1');
    assertGitHubTokenOnlyExchanged([...w.seen, ...again.w.seen]);
  });

  it('renews when less than a tenth of the life or five minutes is left (at least half the life is used)', function () {
    const at = (lifeMs: number) => renewAt({ obtainedAt: 0, expiresLocal: lifeMs });
    assert.equal(at(60 * MIN), 54 * MIN, 'an hour: a tenth (6 min) before the end');
    assert.equal(at(8 * 60 * MIN), 8 * 60 * MIN - 48 * MIN);
    assert.equal(at(20 * MIN), 15 * MIN, 'twenty minutes: five minutes before the end');
    assert.equal(at(2 * MIN), 1 * MIN, 'two minutes: half of it');
  });

  it('renews before the session lapses, and keeps the old one while a renewal fails', async function () {
    const { api, w, clock, auth } = setUp({ lifeMs: 60 * MIN });
    await api.health();
    clock.now += 53 * MIN;
    await api.health();
    assert.equal(auth.exchanges, 1, 'not due yet at 53 of 60 minutes');
    clock.now += 2 * MIN;
    await api.health();
    assert.equal(auth.exchanges, 2, 'due at 55 of 60 minutes');
    assert.equal(to(w.seen, '/health').at(-1)?.headers.authorization, 'Bearer session-2');
    assert.equal(
      to(w.seen, '/health').filter((s) => s.headers.authorization === 'Bearer session-2').length,
      1,
      'renewed before sending: no 401 first',
    );

    // The worker cannot renew (GitHub down): the current session, still valid, is used meanwhile.
    const down = setUp({ lifeMs: 60 * MIN });
    await down.api.health();
    down.clock.now += 56 * MIN;
    const real = down.w.fetch;
    const failing = ((input: string | URL | Request, init?: RequestInit) =>
      urlOf(input).endsWith('/auth/github')
        ? Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))
        : real(input, init)) as typeof fetch;
    const api2 = new WorkerApi({
      baseUrl: BASE,
      credentials: new WorkerAuth({
        baseUrl: BASE,
        fetch: failing,
        secrets: down.secrets,
        now: () => down.clock.now,
        workerToken: async () => undefined,
        githubToken: async () => GH_TOKEN,
        mayCarryCredentials: async () => ({ ok: true }),
      }),
      fetch: failing,
    });
    assert.equal((await api2.health()).kind, 'ok', 'the old session still works');
    assert.equal(to(down.w.seen, '/health').at(-1)?.headers.authorization, 'Bearer session-1');
  });

  it('after a 401 UNAUTHORIZED: one new exchange and one retry, never a loop', async function () {
    const { api, w, auth } = setUp();
    assert.equal((await api.submit(req)).kind, 'accepted');
    w.revoke(); // the worker's key rotated: every session it issued is refused
    assert.equal((await api.submit(req)).kind, 'accepted', 'renewed and retried');
    assert.equal(auth.exchanges, 2);
    assert.deepEqual(
      to(w.seen, '/generate-code').map((s) => s.headers.authorization),
      ['Bearer session-1', 'Bearer session-1', 'Bearer session-2'],
    );

    // A worker that refuses every session: one retry, then the refusal in words.
    const stubborn = setUp();
    const real = stubborn.w.fetch;
    const refuseAll = ((input: string | URL | Request, init?: RequestInit) =>
      urlOf(input).endsWith('/generate-code')
        ? Promise.resolve(new Response(JSON.stringify({ code: 'UNAUTHORIZED', message: 'no' }), { status: 401 }))
        : real(input, init)) as typeof fetch;
    const api2 = new WorkerApi({
      baseUrl: BASE,
      credentials: new WorkerAuth({
        baseUrl: BASE,
        fetch: refuseAll,
        secrets: new MemorySecrets(),
        workerToken: async () => undefined,
        githubToken: async () => GH_TOKEN,
        mayCarryCredentials: async () => ({ ok: true }),
      }),
      fetch: refuseAll,
    });
    const outcome = await api2.submit(req);
    assert.equal(outcome.kind, 'unauthorized');
    assert.match(outcome.kind === 'unauthorized' ? outcome.message : '', /refused your session \(no\)\. Sign in to GitHub again/);
    assert.equal(stubborn.w.seen.filter((s) => s.url.endsWith('/auth/github')).length, 2, 'the first exchange and one renewal');
  });

  it('concurrent requests share one exchange, at start and after a 401', async function () {
    const { api, w, auth } = setUp();
    let open!: () => void;
    w.state.gate = new Promise<void>((r) => (open = r));
    const first = Promise.all(Array.from({ length: 6 }, () => api.health()));
    await new Promise((r) => setImmediate(r));
    open();
    assert.deepEqual(
      (await first).map((o) => o.kind),
      Array(6).fill('ok'),
    );
    assert.equal(auth.exchanges, 1);
    w.state.gate = undefined;
    w.revoke();
    const second = await Promise.all(Array.from({ length: 6 }, () => api.health()));
    assert.deepEqual(
      second.map((o) => o.kind),
      Array(6).fill('ok'),
    );
    assert.equal(auth.exchanges, 2, 'six requests refused together: one new session');
    assert.equal(to(w.seen, '/auth/github').length, 2);
    assertGitHubTokenOnlyExchanged(w.seen);
  });

  it('a GitHub token the worker refuses: a message that says what to do, and the token is not offered again at once', async function () {
    const { api, w } = setUp({ refuseGitHub: true });
    const outcome = await api.submit(req);
    assert.equal(outcome.kind, 'unauthorized');
    if (outcome.kind !== 'unauthorized') return;
    assert.equal(outcome.code, 'GITHUB_TOKEN_REFUSED');
    assert.match(
      outcome.message,
      /could not confirm who you are with GitHub \(GitHub says: Bad credentials\)\. Sign out of GitHub and in again \(Accounts menu\), or run "Kiro: Set GitHub Token"/,
    );
    const health = await api.health();
    assert.equal(health.kind === 'unauthorized' && health.code, 'GITHUB_TOKEN_REFUSED');
    assert.equal(to(w.seen, '/auth/github').length, 1, 'a refused token is remembered for a while');
    assert.equal(to(w.seen, '/generate-code').length, 0, 'nothing is sent without a session');
  });

  it('a session belongs to the GitHub token it was made from: another account gets its own, a sign-out none', async function () {
    const { api, w, auth, user, secrets } = setUp();
    await api.health();
    assert.equal(auth.login, 'alice');
    assert.ok(!(secrets.data.get(sessionSecretKey(BASE)) ?? '').includes(GH_TOKEN), 'the kept session names its token by a hash only');
    user.token = GH_TOKEN_BOB;
    await api.health();
    assert.equal(auth.exchanges, 2);
    assert.equal(auth.login, 'bob');
    assert.deepEqual(
      to(w.seen, '/health').map((s) => s.headers.authorization),
      ['Bearer session-1', 'Bearer session-2'],
    );
    user.token = undefined;
    const out = await api.health();
    assert.equal(out.kind === 'unauthorized' && out.code, 'NO_GITHUB_TOKEN');
    assert.equal(to(w.seen, '/health').length, 2, "signed out: bob's session is not sent either");
    assert.equal(secrets.data.get(sessionSecretKey(BASE)), undefined);
  });

  it('no GitHub sign-in in github mode: says how to sign in, sends nothing', async function () {
    const { api, w } = setUp({ github: undefined });
    const outcome = await api.submit(req);
    assert.equal(outcome.kind === 'unauthorized' && outcome.code, 'NO_GITHUB_TOKEN');
    assert.match(
      outcome.kind === 'unauthorized' ? outcome.message : '',
      /sign in to GitHub \(Accounts menu\), or run "Kiro: Set GitHub Token"/,
    );
    assert.equal(to(w.seen, '/auth/github').length, 0);
    assert.equal(to(w.seen, '/generate-code').length, 0);
  });

  it('a transport the user did not agree to carries no credential: neither the worker token nor the GitHub token', async function () {
    for (const mode of ['token', 'github'] as const) {
      const { api, w } = setUp({ mode, transport: false });
      const outcome = await api.submit(req);
      assert.equal(outcome.kind === 'unauthorized' && outcome.code, 'INSECURE_TRANSPORT');
      assert.ok(
        w.seen.every((s) => s.headers.authorization === undefined && !s.body?.includes(GH_TOKEN)),
        `${mode}: nothing secret went out`,
      );
      assert.equal(to(w.seen, '/generate-code').length, 0);
    }
  });

  it('follows no redirect with a credential, and a worker restarted in github mode is followed after its 401', async function () {
    const { api, w, auth } = setUp({ mode: 'token' });
    await api.health();
    w.state.mode = 'github';
    assert.equal((await api.health()).kind, 'ok', 'the 401 makes it ask /healthz again, then exchange');
    assert.equal(auth.exchanges, 1);
    assert.deepEqual(
      to(w.seen, '/health').map((s) => s.headers.authorization),
      [`Bearer ${WORKER_TOKEN}`, `Bearer ${WORKER_TOKEN}`, 'Bearer session-1'],
    );
    assert.ok(w.seen.filter((s) => s.url.endsWith('/health') || s.url.endsWith('/auth/github')).every((s) => s.redirect === 'error'));
    assertGitHubTokenOnlyExchanged(w.seen);
  });

  it("429 QUOTA_EXCEEDED: the worker's words and its Retry-After, never waited out or retried", async function () {
    const { api, w } = setUp({ quota: true });
    let slept = 0;
    const outcome = await sendJob(api, req, { sleep: async () => void slept++ });
    assert.deepEqual(outcome, {
      kind: 'quota',
      retryAfterSeconds: 300,
      code: 'QUOTA_EXCEEDED',
      message: '5 delegations of yours are in flight; the next can start when one ends',
    });
    assert.equal(slept, 0);
    assert.equal(to(w.seen, '/generate-code').length, 1);
    assert.equal(parseRetryAfter('120'), 120);
    assert.equal(parseRetryAfter(new Date(Date.parse('2025-06-01T12:05:00Z')).toUTCString(), Date.parse('2025-06-01T12:00:00Z')), 300);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});
