// Follow-ups on the same PR: TASK.md gets a "## Follow-up N" section in one
// commit (re-read and retried when the branch moved meanwhile), a new job runs
// on the same branch, and the watcher tells each round's push once.
import assert from 'node:assert/strict';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';
import { createGitHubClient } from '../../../extension/github/client.js';
import { delegate } from '../../../extension/delegations/delegate.js';
import { sendFollowUp } from '../../../extension/delegations/followUp.js';
import { describeRounds, describeState } from '../../../extension/delegations/describe.js';
import { DelegationStore, MemoryMemento, type Delegation } from '../../../extension/delegations/model.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import { appendFollowUp, followUpCount } from '../../../shared/taskMarkdown.js';

describe('follow-ups on a delegated PR', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let alice: { token: string; login: string };
  let w: TestWorker;

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    w = await startWorker(workerEnv(gh, bot.token, await tempDir()), { agentEnv: { FAKE_KIRO_STEP_MS: '150' } });
  });
  afterEach(() => (gh.beforeMutationField = undefined));
  after(async () => {
    await w.close();
    await gh.close();
  });

  it("numbers sections and keeps the user's headings from posing as sections", () => {
    const one = appendFollowUp('# Task\n\nDo it.\n', '## Also\nthe rest', new Date('2026-11-25T10:00:00Z'));
    assert.equal(one.round, 1);
    assert.match(one.markdown, /\n## Follow-up 1\n\n_2026-11-25 10:00 UTC_\n\n### Also\nthe rest\n$/);
    const two = appendFollowUp(one.markdown, 'more', new Date());
    assert.equal(two.round, 2);
    assert.equal(followUpCount(two.markdown), 2);
  });

  it('a second round: TASK.md gets the follow-up (the branch moved meanwhile), the agent pushes again, each push told once', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const github = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl });
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => github,
      worker: () => api,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 50,
    });
    try {
      const done = await delegate(
        {
          owner: 'alice',
          repo: 'app',
          baseBranch: 'main',
          title: 'Rounds',
          objective: 'First round.',
          prTitle: 'Rounds',
          constraints: [],
          acceptanceCriteria: ['ok'],
        },
        undefined,
        { github, worker: () => api, store, branchPrefix: 'kiro/', draft: false },
      );
      await done.sending;
      watcher.start();
      const first = await pollUntil(() => events.find((e) => e.type === 'pushed'), { what: 'the first push' });
      const id = done.result.confirmationCode;
      const repo = gh.model.repo('alice', 'app');
      const branch = done.result.branchName;

      // Someone pushes to the branch between our read and our commit: the commit must go on top of theirs.
      let moved = false;
      gh.beforeMutationField = async (field) => {
        if (field !== 'createCommitOnBranch' || moved) return;
        moved = true;
        const head = (await repo?.bare.resolve(`refs/heads/${branch}`)) ?? '';
        const sha = await repo?.bare.commit({
          parent: head,
          additions: [{ path: 'human.txt', contents: 'a human was here\n' }],
          message: 'human edit',
          author: { name: 'alice', email: 'a@e' },
        });
        await repo?.bare.updateRef(`refs/heads/${branch}`, sha ?? '', head);
      };
      const sent = await sendFollowUp(store.get(id) as Delegation, 'Now also write the docs.', { github, worker: () => api, store });
      await sent.sending;
      assert.equal(moved, true);
      assert.equal(sent.round, 2);
      const log = (await repo?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? [];
      assert.deepEqual(
        log.slice(0, 3).map((l) => l.subject),
        ['task: follow-up 1: Rounds', 'human edit', 'feat: Rounds'],
        'the follow-up went on top of the moved branch',
      );
      const task = (await repo?.bare.readFile(`refs/heads/${branch}`, 'TASK.md')) ?? '';
      assert.match(task, /## Follow-up 1\n\n_.*UTC_\n\nNow also write the docs\.\n$/);
      assert.equal(describeState(store.get(id) as Delegation).startsWith('round 2 · '), true);

      watcher.start();
      const second = await pollUntil(() => events.filter((e) => e.type === 'pushed')[1], { what: 'the second push' });
      assert.ok(second.type === 'pushed' && first.type === 'pushed' && second.headOid !== first.headOid);
      assert.equal(second.type === 'pushed' && second.headOid, await repo?.bare.resolve(`refs/heads/${branch}`));
      const after = (await repo?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? [];
      assert.equal(after[0]?.subject, 'feat: Rounds', "round 2's agent commit is on top");
      const d = store.get(id) as Delegation;
      assert.equal(d.state, 'pushed');
      assert.deepEqual(
        describeRounds(d).map((r) => r.split(':')[0]),
        ['Task', 'Follow-up 1'],
      );
      assert.match(describeRounds(d)[0] ?? '', /^Task: pushed [0-9a-f]{7}$/);
      assert.equal(events.filter((e) => e.type === 'pushed').length, 2, 'each round told once');
      // The worker saw two jobs for the one PR, with different keys.
      assert.notEqual(d.job.idempotencyKey, id);
    } finally {
      watcher.dispose();
    }
  });

  it("a follow-up sent while the first round still runs: each round's push is told once, as its own round", async function () {
    const store = new DelegationStore(new MemoryMemento());
    const github = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl });
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => github,
      worker: () => api,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 50,
    });
    try {
      const done = await delegate(
        {
          owner: 'alice',
          repo: 'app',
          baseBranch: 'main',
          title: 'Overlapping rounds',
          objective: 'First round.',
          prTitle: 'Overlapping rounds',
          constraints: [],
          acceptanceCriteria: ['ok'],
        },
        undefined,
        { github, worker: () => api, store, branchPrefix: 'kiro/', draft: false },
      );
      await done.sending;
      watcher.start();
      const id = done.result.confirmationCode;
      await pollUntil(() => store.get(id)?.state === 'running', { what: 'the first round to run' });
      const sent = await sendFollowUp(store.get(id) as Delegation, 'And the docs.', { github, worker: () => api, store });
      await sent.sending;
      watcher.start();
      const pushes = await pollUntil(
        () => {
          const p = events.filter((e) => e.type === 'pushed');
          return p.length >= 2 ? p : undefined;
        },
        { timeoutMs: 30_000, what: `both rounds' pushes (events: ${events.map((e) => e.type).join(',')})` },
      );
      assert.deepEqual(
        pushes.map((e) => e.delegation.round),
        [1, 2],
        'round 1 told as round 1, then round 2',
      );
      assert.notEqual(pushes[0]?.type === 'pushed' && pushes[0].headOid, pushes[1]?.type === 'pushed' && pushes[1].headOid);
      const d = store.get(id) as Delegation;
      assert.equal(d.state, 'pushed');
      // The earlier round records how it ended; the current round's state is the delegation's own.
      assert.equal(d.rounds?.[0]?.state, 'pushed');
      assert.deepEqual(
        describeRounds(d).map((r) => r.replace(/ [0-9a-f]{7}$/, '')),
        ['Task: pushed', 'Follow-up 1: pushed'],
      );
      const log = (await gh.model.repo('alice', 'app')?.bare.log(`refs/heads/main..refs/heads/${done.result.branchName}`)) ?? [];
      const subjects = log.map((l) => l.subject);
      assert.equal(
        subjects.filter((x) => x === 'feat: Overlapping rounds').length,
        2,
        `one agent commit per round: ${subjects.join(' | ')}`,
      );
      assert.ok(subjects.includes('task: follow-up 1: Overlapping rounds'), subjects.join(' | '));
      assert.equal(events.filter((e) => e.type === 'pushed').length, 2, 'no third notification');
    } finally {
      watcher.dispose();
    }
  });

  it('refuses a follow-up on a closed PR, saying why', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const d = {
      id: 'x',
      owner: 'alice',
      repo: 'app',
      branch: 'b',
      baseBranch: 'main',
      prNumber: 1,
      prUrl: '',
      title: 't',
      taskCommitOid: '',
      state: 'closed',
      merged: true,
      job: {} as Delegation['job'],
      createdAt: 0,
      updatedAt: 0,
    } as Delegation;
    await store.upsert(d);
    const github = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl });
    await assert.rejects(sendFollowUp(d, 'more', { github, worker: () => undefined, store }), /PR #1 is merged/);
  });
});
