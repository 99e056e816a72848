// The extension's plain modules against the GitHub stand-in and a real worker
// service on loopback: fire-and-forget sending, 503 handling, watching, resuming.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';
import { createGitHubClient } from '../../../extension/github/client.js';
import { delegate, sendToWorker, type DelegateDeps } from '../../../extension/delegations/delegate.js';
import { DelegationStore, MemoryMemento, type Delegation } from '../../../extension/delegations/model.js';
import { cancelDelegation } from '../../../extension/delegations/cancel.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import type { ValidForm } from '../../../extension/form/validation.js';

describe('delegating: PR, worker, watcher', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let alice: { token: string; login: string };
  let bot: { token: string };
  let w: TestWorker;
  const form = (title: string, extra = ''): ValidForm => ({
    owner: 'alice',
    repo: 'app',
    baseBranch: 'main',
    title,
    objective: `Do ${title}.${extra}`,
    prTitle: title,
    constraints: [],
    acceptanceCriteria: ['works'],
  });
  const github = () => createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl, retryAfterBaseValue: 1 });

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    w = await startWorker(workerEnv(gh, bot.token, await tempDir(), { FAKE_KIRO_STEP_MS: '150' }), {
      commenter: async () => undefined,
      agentEnv: { FAKE_KIRO_STEP_MS: '150' },
    });
  });
  after(async () => {
    await w.close();
    await gh.close();
  });

  function deps(store: DelegationStore, over: Partial<DelegateDeps> = {}): DelegateDeps {
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    return { github: github(), worker: () => api, store, branchPrefix: 'kiro/', draft: false, ...over };
  }

  it('returns the PR before the worker answers, then the worker runs the job and the watcher sees the commit', async function () {
    // A worker front that holds every answer for a second proves the user does not wait for it.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFront = createServer(
      (req, res) =>
        void (async () => {
          await gate;
          const body = await new Promise<string>((r) => {
            let b = '';
            req.on('data', (c) => (b += c));
            req.on('end', () => r(b));
          });
          const upstream = await fetch(`${w.url}${req.url}`, {
            method: req.method,
            headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
            body: body || undefined,
          });
          res.writeHead(upstream.status, { 'content-type': 'application/json' });
          res.end(await upstream.text());
        })(),
    );
    await new Promise<void>((r) => slowFront.listen(0, '127.0.0.1', r));
    const addr = slowFront.address();
    const frontUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    try {
      const store = new DelegationStore(new MemoryMemento());
      const api = new WorkerApi({ baseUrl: frontUrl, token: async () => WORKER_TOKEN });
      const done = await delegate(form('Fire and forget'), undefined, deps(store, { worker: () => api }));
      assert.match(done.result.prUrl, /\/alice\/app\/pull\/\d+$/);
      assert.match(done.result.confirmationCode, /^PR\d{13}$/);
      assert.equal(store.get(done.result.confirmationCode)?.jobId, undefined, 'the worker has not answered yet');
      release();
      await done.sending;
      const jobId = store.get(done.result.confirmationCode)?.jobId;
      assert.ok(jobId, 'the job id is stored once the worker answers');

      const events: WatchEvent[] = [];
      const watcher = new PrWatcher({
        store,
        github: async () => github(),
        worker: () => new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN }),
        notify: (e) => events.push(e),
        isFocused: () => true,
        intervalMs: 50,
      });
      watcher.start();
      try {
        const pushed = await pollUntil(() => events.find((e) => e.type === 'pushed'), { what: 'the pushed notification' });
        assert.equal(pushed.delegation.prNumber, done.result.number);
        assert.notEqual(pushed.type === 'pushed' && pushed.headOid, done.delegation.taskCommitOid);
        assert.equal(store.get(done.result.confirmationCode)?.state, 'pushed');
        // No timer left and no pass running: nothing can poll again (the worker's own requests after its push do not count).
        await pollUntil(() => !watcher.polling, { what: 'the watcher to stop polling once done' });
        assert.equal(store.active().length, 0, 'nothing left to watch');
        assert.equal(events.filter((e) => e.type === 'pushed').length, 1, 'notified once');
      } finally {
        watcher.dispose();
      }
    } finally {
      slowFront.close();
    }
  });

  it('unchanged polls cost no rate limit (conditional requests answered 304)', async function () {
    const store = new DelegationStore(new MemoryMemento());
    // No worker: the branch stays at the TASK.md commit.
    const done = await delegate(form('Quiet branch'), undefined, deps(store, { worker: () => undefined }));
    await done.sending;
    const watcher = new PrWatcher({
      store,
      github: async () => github(),
      worker: () => undefined,
      notify: () => undefined,
      isFocused: () => true,
      intervalMs: 1000,
      pullCheckEvery: 1000,
    });
    await watcher.pollOnce(); // first poll: 200 with an ETag, costs one
    const remaining = gh.rateLimits.remaining('user:alice', 'core');
    for (let i = 0; i < 10; i++) await watcher.pollOnce();
    assert.equal(gh.rateLimits.remaining('user:alice', 'core'), remaining, 'ten unchanged polls cost nothing');
    assert.equal(gh.requests.filter((r) => r.status === 304).length >= 10, true);
    watcher.dispose();
  });

  it('waits out a full worker (503 + Retry-After), shows "queued locally", and never makes a second job', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    let busyAnswers = 2;
    const flaky = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    flaky.submit = async (req) => (busyAnswers-- > 0 ? { kind: 'busy', retryAfterSeconds: 7, message: 'full' } : api.submit(req));
    const waits: number[] = [];
    const queued: number[] = [];
    const done = await delegate(
      form('Busy worker', '\n[scenario: no-change]'),
      undefined,
      deps(store, {
        worker: () => flaky,
        sleep: async (ms) => void waits.push(ms),
        onQueuedLocally: (_d, s) => queued.push(s),
      }),
    );
    await done.sending;
    assert.deepEqual(waits, [7000, 7000], 'Retry-After honoured');
    assert.deepEqual(queued, [7, 7]);
    const d = store.get(done.result.confirmationCode);
    assert.ok(d?.jobId);
    // Retrying the same delegation returns the same job (the confirmation code is the idempotency key).
    await sendToWorker(d, { worker: () => api, store });
    assert.equal(store.get(d.id)?.jobId, d.jobId);
    assert.equal([...w.queue.jobs.values()].filter((j) => j.request.idempotencyKey === d.id).length, 1);
  });

  it('reports an unreachable worker and a refused token with something to do about it; Retry then sends', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const problems: string[] = [];
    const dead = new WorkerApi({ baseUrl: 'http://127.0.0.1:9', token: async () => WORKER_TOKEN });
    const done = await delegate(
      form('Worker down', '\n[scenario: no-change]'),
      undefined,
      deps(store, { worker: () => dead, onSendProblem: (_d, o) => problems.push(o.kind) }),
    );
    await done.sending;
    assert.deepEqual(problems, ['unreachable']);
    assert.equal(store.get(done.result.confirmationCode)?.sendFailed, true);
    assert.match(store.get(done.result.confirmationCode)?.problem ?? '', /unreachable/);
    const wrongToken = new WorkerApi({ baseUrl: w.url, token: async () => 'wrong-token-wrong-token' });
    await sendToWorker(store.get(done.result.confirmationCode) ?? done.delegation, {
      worker: () => wrongToken,
      store,
      onSendProblem: (_d, o) => problems.push(o.kind),
    });
    assert.deepEqual(problems, ['unreachable', 'unauthorized']);
    const good = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    await sendToWorker(store.get(done.result.confirmationCode) ?? done.delegation, { worker: () => good, store });
    assert.ok(store.get(done.result.confirmationCode)?.jobId);
    assert.equal(store.get(done.result.confirmationCode)?.sendFailed, false);
  });

  it('notifies when the job fails, and resumes watching persisted delegations after a reload', async function () {
    const memento = new MemoryMemento();
    const store = new DelegationStore(memento);
    const done = await delegate(form('Will fail', '\n[scenario: fail]'), undefined, deps(store));
    await done.sending;
    // "Reload": a new store and watcher over the same persisted state.
    const events: WatchEvent[] = [];
    const reloaded = new DelegationStore(memento);
    assert.equal(reloaded.active().length >= 1, true);
    const watcher = new PrWatcher({
      store: reloaded,
      github: async () => github(),
      worker: () => new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN }),
      notify: (e) => events.push(e),
      isFocused: () => false,
      intervalMs: 20,
      unfocusedFactor: 2,
    });
    watcher.start();
    try {
      const ended = await pollUntil(() => events.find((e) => e.type === 'job-ended' && e.delegation.id === done.result.confirmationCode), {
        what: 'the failure notification',
      });
      assert.equal(ended.type === 'job-ended' && ended.job.error?.code, 'AGENT_FAILED');
      assert.equal(reloaded.get(done.result.confirmationCode)?.state, 'failed');
    } finally {
      watcher.dispose();
    }
  });

  it('cancels a running job: the agent stops, nothing is pushed, the delegation says cancelled (not failed) and one notification says so', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const done = await delegate(form('Cancel me', '\n[scenario: hang]'), undefined, deps(store));
    await done.sending;
    const id = done.result.confirmationCode;
    const jobId = store.get(id)?.jobId ?? '';
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    await pollUntil(async () => (await api.job(jobId))?.state === 'running', { what: 'the agent to run' });
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => github(),
      worker: () => api,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 20,
    });
    try {
      const outcome = await cancelDelegation(store.get(id) as Delegation, { worker: api, store });
      assert.equal(outcome.kind, 'cancelled', 'the answer already says how the job ended');
      watcher.start();
      await pollUntil(() => store.get(id)?.state === 'cancelled', { what: 'the delegation to say cancelled' });
      const job = await api.job(jobId);
      assert.equal(job?.state, 'cancelled');
      assert.equal(job?.commitSha, null);
      const head = await gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${done.result.branchName}`);
      assert.equal(head, store.get(id)?.taskCommitOid, 'nothing pushed after the TASK.md commit');
      assert.ok(events.filter((e) => e.type === 'job-ended').length <= 1);
      // Cancelling again: the worker answers with the job as it is.
      assert.equal((await cancelDelegation(store.get(id) as Delegation, { worker: api, store })).kind, 'cancelled');
    } finally {
      watcher.dispose();
    }
  });

  it('stops watching when the PR is closed', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const done = await delegate(form('Closed early'), undefined, deps(store, { worker: () => undefined }));
    const pr = gh.model.repo('alice', 'app')?.pulls.find((p) => p.number === done.result.number);
    assert.ok(pr);
    pr.state = 'closed';
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => github(),
      worker: () => undefined,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 10,
      pullCheckEvery: 1,
    });
    await watcher.pollOnce();
    assert.equal(events[0]?.type, 'closed');
    assert.equal(store.get(done.result.confirmationCode)?.state, 'closed');
    assert.equal(
      store.active().some((d) => d.id === done.result.confirmationCode),
      false,
    );
    watcher.dispose();
  });
});
