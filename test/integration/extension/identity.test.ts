// The extension's plain modules against a real KIRO_AUTH=github worker and the GitHub
// stand-in: one session exchange per window, the session on every request (submit,
// status, events, log), the GitHub token only in POST /auth/github; a delegation
// started in one window appears in another (listed by the worker), whose terminal and
// Cancel work on it; the per-user limit (429) reaches the user in the worker's words.
import assert from 'node:assert/strict';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir, urlOf } from '../../support/helpers.js';
import { startWorker, workerEnv, type TestWorker } from '../../support/worker.js';
import { createGitHubClient } from '../../../extension/github/client.js';
import { transportDecision } from '../../../extension/auth/trust.js';
import { delegate } from '../../../extension/delegations/delegate.js';
import { cancelDelegation } from '../../../extension/delegations/cancel.js';
import { DelegationStore, MemoryMemento } from '../../../extension/delegations/model.js';
import { syncFromWorker } from '../../../extension/delegations/remote.js';
import type { SendProblem } from '../../../extension/delegations/sendProblem.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import { WorkerEventStream } from '../../../extension/worker/eventStream.js';
import { LogFollower, describeJobUsage } from '../../../extension/worker/logFollower.js';
import { WorkerAuth, sessionSecretKey } from '../../../extension/worker/session.js';
import type { JobStatus } from '../../../shared/protocol.js';
import type { ValidForm } from '../../../extension/form/validation.js';
import { MemorySecrets } from '../../support/memorySecrets.js';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string | undefined;
}

describe('the extension and a KIRO_AUTH=github worker', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let alice: { token: string; login: string };
  let w: TestWorker;
  const form = (title: string, scenario = 'change'): ValidForm => ({
    owner: 'alice',
    repo: 'app',
    baseBranch: 'main',
    title,
    objective: `Do ${title}.\n[scenario: ${scenario}]`,
    prTitle: title,
    constraints: [],
    acceptanceCriteria: ['works'],
  });

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    w = await startWorker(
      workerEnv(gh, bot.token, await tempDir(), {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!',
        KIRO_BRANCH_PREFIX: 'kiro/',
        KIRO_USER_MAX_ACTIVE: '1',
        KIRO_WORKER_SLOTS: '2',
      }),
      { commenter: async () => undefined, agentEnv: { FAKE_KIRO_STEP_MS: '50' } },
    );
  });
  after(async () => {
    await w?.close();
    await gh?.close();
  });

  /** One editor window: its SecretStorage, its delegations, its worker credentials, and every request it made to the worker. */
  function window(githubToken = () => alice.token, secrets = new MemorySecrets()) {
    const seen: Seen[] = [];
    const recording = (async (input: string | URL | Request, init: RequestInit = {}) => {
      const headers = (init.headers ?? {}) as Record<string, string>;
      seen.push({
        method: init.method ?? 'GET',
        path: new URL(urlOf(input)).pathname,
        authorization: headers.authorization,
        body: typeof init.body === 'string' ? init.body : undefined,
      });
      return fetch(input, init);
    }) as typeof fetch;
    const auth = new WorkerAuth({
      baseUrl: w.url,
      fetch: recording,
      secrets,
      workerToken: async () => undefined,
      githubToken: async () => githubToken(),
      mayCarryCredentials: async (url) =>
        transportDecision(url, []).kind === 'send' ? { ok: true } : { ok: false, message: 'plain http' },
    });
    const api = new WorkerApi({ baseUrl: w.url, credentials: auth, fetch: recording });
    const store = new DelegationStore(new MemoryMemento());
    const github = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl });
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => github,
      worker: () => api,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 600_000,
    });
    return { seen, auth, api, store, github, events, watcher, secrets };
  }

  function follow(api: WorkerApi, jobId: string) {
    const out = { text: '', end: undefined as JobStatus | undefined };
    const follower = new LogFollower({
      source: api,
      jobId,
      onData: (t) => (out.text += t),
      onEnd: (job) => (out.end = job),
      maxDelayMs: 200,
    });
    void follower.start();
    return { out, follower };
  }

  it('one exchange; the session on submit, status, events and log; the GitHub token only in POST /auth/github', async function () {
    const a = window();
    const stream = new WorkerEventStream({
      source: () => a.api,
      jobIds: () => a.store.active().flatMap((d) => (d.jobId ? [d.jobId] : [])),
      onEvent: (e) => e.type === 'job' && void a.watcher.applyJob(e.job),
      maxDelayMs: 200,
    });
    a.store.onDidChange(() => stream.refresh());
    try {
      const done = await delegate(form('Session everywhere'), undefined, {
        github: a.github,
        worker: () => a.api,
        store: a.store,
        branchPrefix: 'kiro/',
        draft: false,
      });
      await done.sending;
      const d = a.store.get(done.result.confirmationCode);
      assert.ok(d?.jobId, `the worker took the job (${d?.problem ?? ''})`);
      const { out, follower } = follow(a.api, d.jobId);
      const pushed = await pollUntil(() => a.events.find((e) => e.type === 'pushed'), { what: 'the push, from the event stream alone' });
      assert.equal(pushed.delegation.prNumber, done.result.number);
      await pollUntil(() => out.end, { what: 'the log to end' });
      follower.dispose();
      assert.match(out.text, /Planning: Session everywhere/);
      assert.equal(out.end?.state, 'succeeded');
      assert.match(describeJobUsage(out.end), /^usage not reported by this agent$/, 'the scripted agent reports no usage');
      assert.equal(a.auth.exchanges, 1);
      const session = JSON.parse(a.secrets.data.get(sessionSecretKey(w.url)) ?? '{}') as { token?: string; login?: string };
      assert.equal(session.login, 'alice');
      const calls = a.seen.filter((s) => s.path !== '/healthz' && s.path !== '/auth/github');
      for (const path of ['/generate-code', '/events', `/jobs/${d.jobId}/log`])
        assert.ok(
          calls.some((s) => s.path === path),
          `${path} was asked`,
        );
      assert.deepEqual([...new Set(calls.map((s) => s.authorization))], [`Bearer ${session.token}`], 'every request carried the session');
      for (const s of a.seen) {
        if (s.body?.includes(alice.token) || s.authorization?.includes(alice.token))
          assert.equal(`${s.method} ${s.path}`, 'POST /auth/github', 'the GitHub token went only to the exchange');
      }
      assert.equal(a.seen.filter((s) => s.path === '/auth/github').length, 1);
      assert.ok(a.seen.filter((s) => s.path === '/auth/github').every((s) => s.authorization === undefined));
    } finally {
      stream.dispose();
      a.watcher.dispose();
    }
  });

  it('a delegation from another window appears with its live state; its output and Cancel work there; the limit says when', async function () {
    const a = window();
    const b = window();
    const problems: SendProblem[] = [];
    const first = await delegate(form('Started on the laptop', 'hang'), undefined, {
      github: a.github,
      worker: () => a.api,
      store: a.store,
      branchPrefix: 'kiro/',
      draft: false,
    });
    await first.sending;
    const jobId = a.store.get(first.result.confirmationCode)?.jobId;
    assert.ok(jobId, a.store.get(first.result.confirmationCode)?.problem);
    await pollUntil(async () => (await a.api.job(jobId))?.state === 'running', { what: 'the job to run' });

    // KIRO_USER_MAX_ACTIVE=1: a second delegation is refused with the worker's words, and not retried.
    const second = await delegate(form('One too many'), undefined, {
      github: a.github,
      worker: () => a.api,
      store: a.store,
      branchPrefix: 'kiro/',
      draft: false,
      onSendProblem: (_d, o) => problems.push(o),
      sleep: async () => assert.fail('a 429 is not waited out'),
    });
    await second.sending;
    assert.equal(problems.length, 1);
    const quota = problems[0]!;
    assert.equal(quota.kind, 'quota');
    assert.equal(quota.kind === 'quota' && quota.code, 'QUOTA_EXCEEDED');
    assert.match(
      quota.kind === 'quota' ? quota.message : '',
      /1 delegations of yours are in flight .*the next can start when one ends/,
      "the worker's own words",
    );
    assert.equal(quota.kind === 'quota' && quota.retryAfterSeconds, 30, 'from Retry-After');
    assert.equal(a.seen.filter((s) => s.path === '/generate-code').length, 2, 'one request for the refused job');
    const refused = a.store.get(second.result.confirmationCode);
    assert.equal(refused?.sendFailed, true);
    assert.equal(refused?.problem, `${quota.message} (try again in 30 s)`);

    // Window B knew nothing of it: the worker's list brings it, with what the commands need.
    const synced = await syncFromWorker({ api: b.api, store: b.store, applyJob: (j) => b.watcher.applyJob(j), webUrl: gh.webUrl });
    assert.equal(synced.error, undefined);
    const there = b.store.all().find((d) => d.jobId === jobId);
    assert.ok(
      there,
      `listed in the other window (${b.store
        .all()
        .map((d) => d.jobId)
        .join(', ')})`,
    );
    assert.deepEqual(
      { state: there.state, prNumber: there.prNumber, branch: there.branch, fromWorker: there.fromWorker },
      { state: 'running', prNumber: first.result.number, branch: first.result.branchName, fromWorker: true },
    );
    assert.equal(there.prUrl, first.result.prUrl);
    const { out, follower } = follow(b.api, jobId);
    await pollUntil(() => /thinking forever/.test(out.text), { what: "the agent's output in the other window" });
    const cancelled = await cancelDelegation(there, { worker: b.api, store: b.store });
    assert.ok(cancelled.kind === 'cancelled' || cancelled.kind === 'stopping', JSON.stringify(cancelled));
    await pollUntil(() => out.end, { what: 'the log to end after the cancel' });
    follower.dispose();
    assert.equal(out.end?.state, 'cancelled');
    assert.equal(describeJobUsage(out.end), 'usage not reported by this agent');
    assert.equal((await a.api.job(jobId))?.state, 'cancelled', 'the window that started it sees the cancel');
    assert.equal(b.auth.exchanges, 1, 'the other window has its own session');
    a.watcher.dispose();
    b.watcher.dispose();
  });

  it('a refused GitHub token says what to do; a forged session kept from before is replaced once, and the request retried', async function () {
    const bogus = window(() => 'ghp_not_a_token_github_knows');
    const refused = await bogus.api.health();
    assert.equal(refused.kind, 'unauthorized');
    assert.equal(refused.kind === 'unauthorized' && refused.code, 'GITHUB_TOKEN_REFUSED');
    assert.match(refused.kind === 'unauthorized' ? refused.message : '', /Set GitHub Token/);
    assert.equal(bogus.seen.filter((s) => s.path === '/health').length, 0, 'nothing sent without a session');

    const secrets = new MemorySecrets();
    await secrets.store(
      sessionSecretKey(w.url),
      JSON.stringify({
        token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.forged',
        login: 'alice',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        obtainedAt: Date.now(),
        expiresLocal: Date.now() + 3_600_000,
      }),
    );
    const c = window(() => alice.token, secrets);
    assert.equal((await c.api.health()).kind, 'ok');
    assert.equal(c.auth.exchanges, 1);
    const health = c.seen.filter((s) => s.path === '/health');
    assert.equal(health.length, 2, 'refused once, retried once');
    assert.match(health[0]?.authorization ?? '', /forged$/);
    assert.notEqual(health[1]?.authorization, health[0]?.authorization);
  });
});
