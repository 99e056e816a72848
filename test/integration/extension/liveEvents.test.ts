// The extension's live view of its jobs, from the worker's event stream alone:
// with the poll interval at ten minutes, a delegation still goes queued →
// running → pushed, and the "pushed" notification comes as soon as the worker
// has pushed. A dropped stream reconnects (Last-Event-ID) and misses nothing.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';
import { createGitHubClient } from '../../../extension/github/client.js';
import { delegate } from '../../../extension/delegations/delegate.js';
import { describeState } from '../../../extension/delegations/describe.js';
import { DelegationStore, MemoryMemento } from '../../../extension/delegations/model.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import { WorkerEventStream } from '../../../extension/worker/eventStream.js';
import type { PoolSlots } from '../../../shared/protocol.js';

const TEN_MINUTES = 600_000;

describe('live events in the extension (event stream, no polling)', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let alice: { token: string };
  let w: TestWorker;

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    w = await startWorker(workerEnv(gh, bot.token, await tempDir(), { KIRO_WORKER_SLOTS: '1' }), {
      agentEnv: { FAKE_KIRO_STEP_MS: '200' },
    });
  });
  after(async () => {
    await w.close();
    await gh.close();
  });

  function setUp(baseUrl: string) {
    const store = new DelegationStore(new MemoryMemento());
    const api = new WorkerApi({ baseUrl, token: async () => WORKER_TOKEN });
    const events: WatchEvent[] = [];
    const slots: PoolSlots[] = [];
    const seen: string[] = [];
    const github = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl });
    const watcher = new PrWatcher({
      store,
      github: async () => github,
      worker: () => api,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: TEN_MINUTES,
    });
    let connects = 0;
    const stream = new WorkerEventStream({
      source: () => api,
      jobIds: () => store.active().flatMap((d) => (d.jobId ? [d.jobId] : [])),
      onEvent: (e) => {
        if (e.type === 'job') void watcher.applyJob(e.job).then(() => seen.push(describeState(store.all()[0] ?? ({} as never))));
        else slots.push(e.pool);
      },
      onConnected: (up) => up && connects++,
      maxDelayMs: 500,
    });
    store.onDidChange(() => stream.refresh());
    return { store, api, events, slots, seen, watcher, stream, github, connects: () => connects };
  }

  it('with a ten-minute poll interval, the view follows the job and "pushed" arrives from the stream', async function () {
    const s = setUp(w.url);
    try {
      const t0 = Date.now();
      const done = await delegate(
        {
          owner: 'alice',
          repo: 'app',
          baseBranch: 'main',
          title: 'Live',
          objective: 'Live states.',
          prTitle: 'Live',
          constraints: [],
          acceptanceCriteria: ['ok'],
        },
        undefined,
        { github: s.github, worker: () => s.api, store: s.store, branchPrefix: 'kiro/', draft: false },
      );
      await done.sending;
      // The watcher never polls here (ten minutes): only the stream can move the delegation on.
      const pushed = await pollUntil(() => s.events.find((e) => e.type === 'pushed'), {
        timeoutMs: 20_000,
        what: `the pushed notification (seen: ${s.seen.join(' → ')})`,
      });
      assert.ok(Date.now() - t0 < 20_000);
      const d = s.store.get(done.result.confirmationCode);
      assert.equal(d?.state, 'pushed');
      assert.equal(
        pushed.type === 'pushed' && pushed.headOid,
        await gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${done.result.branchName}`),
        'the notified commit is the branch head',
      );
      assert.ok(
        s.seen.some((x) => /^running \d+:\d\d$/.test(x)),
        `running m:ss was shown (seen: ${s.seen.join(' → ')})`,
      );
      assert.ok(s.seen.includes('pushing'), 'pushing was shown');
      // The slot frees just after the job's last event: the stream lingers to show that too (the status bar's "0/1 busy").
      await pollUntil(
        () =>
          s.slots.findIndex((p) => p.running === 1) >= 0 &&
          s.slots.findLastIndex((p) => p.running === 0) > s.slots.findIndex((p) => p.running === 1),
        { what: `the slots to go busy, then idle (${JSON.stringify(s.slots.map((p) => p.running))})` },
      );
      assert.equal(s.events.filter((e) => e.type === 'pushed').length, 1, 'told once');
    } finally {
      s.stream.dispose();
      s.watcher.dispose();
    }
  });

  it("reconnects after the stream is cut and misses nothing (the job's end still arrives)", async function () {
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const up = connect(Number(new URL(w.url).port), '127.0.0.1');
      for (const x of [client, up]) {
        sockets.add(x);
        x.on('error', () => undefined);
        x.on('close', () => sockets.delete(x));
      }
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const s = setUp(`http://127.0.0.1:${(relay.address() as { port: number }).port}`);
    try {
      const done = await delegate(
        {
          owner: 'alice',
          repo: 'app',
          baseBranch: 'main',
          title: 'Cut',
          objective: 'Cut the stream.',
          prTitle: 'Cut',
          constraints: [],
          acceptanceCriteria: ['ok'],
        },
        undefined,
        { github: s.github, worker: () => s.api, store: s.store, branchPrefix: 'kiro/', draft: false },
      );
      await done.sending;
      await pollUntil(() => s.stream.connected && s.store.get(done.result.confirmationCode)?.state === 'running', {
        what: 'a live stream and a running job',
      });
      for (const x of sockets) x.destroy();
      await pollUntil(() => s.events.find((e) => e.type === 'pushed'), {
        timeoutMs: 20_000,
        what: 'the pushed notification after a reconnect',
      });
      assert.ok(s.connects() >= 2, 'it connected again');
    } finally {
      s.stream.dispose();
      s.watcher.dispose();
      relay.close();
    }
  });

  it('keeps trying, with backoff, while the worker is unreachable (polling stands in meanwhile), and stops when nothing is in flight', async function () {
    const api = new WorkerApi({ baseUrl: 'http://127.0.0.1:9', token: async () => undefined });
    const attempts: number[] = [];
    const states: boolean[] = [];
    let jobs = ['some-job'];
    const stream = new WorkerEventStream({
      source: () => ({
        openEvents: (ids, last, signal) => {
          attempts.push(Date.now());
          return api.openEvents(ids, last, signal);
        },
      }),
      jobIds: () => jobs,
      onEvent: () => undefined,
      onConnected: (up) => states.push(up),
      maxDelayMs: 4000,
      lingerMs: 0,
    });
    stream.refresh();
    await pollUntil(() => attempts.length >= 4, { what: 'several attempts' });
    assert.equal(stream.connected, false);
    assert.deepEqual(states, [], 'never connected');
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? t));
    assert.ok((gaps[2] ?? 0) > (gaps[0] ?? 0), `the wait grows (${gaps.join(', ')} ms)`);
    jobs = [];
    stream.refresh();
    await pollUntil(() => !stream.active, { what: 'the stream to stop once nothing is followed' });
    stream.dispose();
  });
});
