// Rounds started on GitHub (a `/kiro` comment) on a pull request this window follows: they
// join its delegation as its newest rounds, and their end is told once, like a follow-up's.
import assert from 'node:assert/strict';
import { mergeRemoteJobs, syncFromWorker, withRoundsFromElsewhere } from '../../../extension/delegations/remote.js';
import { DelegationStore, MemoryMemento, watchedJobIds, type Delegation } from '../../../extension/delegations/model.js';
import type { JobStatus } from '../../../shared/protocol.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const job = (id: string, over: Partial<JobStatus> = {}): JobStatus => ({
  jobId: id,
  state: 'queued',
  owner: 'alice',
  repo: 'app',
  branch: 'kiro/x',
  prNumber: 1,
  title: 'x',
  attempts: 0,
  position: 0,
  slotId: null,
  createdAt: iso(5),
  startedAt: null,
  finishedAt: null,
  exitCode: null,
  signal: null,
  commitSha: null,
  error: null,
  outputTail: [],
  requestedBy: 'bob',
  ...over,
});

const delegation = (over: Partial<Delegation> = {}): Delegation => ({
  id: 'PR1',
  owner: 'alice',
  repo: 'app',
  branch: 'kiro/x',
  baseBranch: 'main',
  prNumber: 1,
  prUrl: 'https://github.com/alice/app/pull/1',
  title: 'x',
  taskCommitOid: 'a'.repeat(40),
  state: 'pushed',
  jobId: 'j1',
  headOid: 'b'.repeat(40),
  notified: true,
  job: {
    owner: 'alice',
    repo: 'app',
    branch: 'kiro/x',
    prNumber: 1,
    baseBranch: 'main',
    title: 'x',
    taskDescription: '# x\n',
    idempotencyKey: 'PR1',
  },
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

describe('rounds started on GitHub', () => {
  it('a new job on a followed PR is a round of that delegation, not a delegation of its own', () => {
    const merge = mergeRemoteJobs({
      local: [delegation()],
      jobs: [job('j2'), job('j1', { state: 'succeeded' })],
      webUrl: 'https://github.com',
    });
    assert.deepEqual(merge.added, []);
    assert.deepEqual(
      merge.known.map((j) => j.jobId),
      ['j1'],
    );
    assert.deepEqual(
      merge.rounds.map((r) => [r.delegationId, r.jobs.map((j) => j.jobId)]),
      [['PR1', ['j2']]],
    );
  });

  it('becomes the current round, the first round kept as it ended; nothing for a closed PR or a job already known', () => {
    const patch = withRoundsFromElsewhere(delegation(), [job('j3', { createdAt: iso(9) }), job('j2')]);
    assert.deepEqual(
      patch?.rounds?.map((r) => [r.round, r.jobId, r.state]),
      [
        [1, 'j1', 'pushed'],
        [2, 'j2', 'queued'],
        [3, 'j3', 'queued'],
      ],
    );
    assert.equal(patch?.jobId, 'j3');
    assert.equal(patch?.state, 'queued');
    assert.equal(patch?.notified, false);
    assert.equal(withRoundsFromElsewhere(delegation({ state: 'closed' }), [job('j2')]), undefined);
    assert.equal(withRoundsFromElsewhere(delegation(), [job('j1')]), undefined);
    assert.equal(
      withRoundsFromElsewhere(delegation(), [job('j0', { createdAt: iso(-5) })]),
      undefined,
      'older than the delegation: not a new round',
    );
  });

  it('a sync adds it and hands its state to the watcher; a second sync adds nothing more', async () => {
    const store = new DelegationStore(new MemoryMemento());
    await store.upsertMany([delegation()]);
    const applied: string[] = [];
    const api = { listMine: async () => ({ kind: 'ok' as const, list: { jobs: [job('j2', { state: 'running' })], nextCursor: null } }) };
    const deps = { api, store, webUrl: 'https://github.com', applyJob: async (j: JobStatus) => void applied.push(`${j.jobId}:${j.state}`) };
    const first = await syncFromWorker(deps);
    assert.equal(first.updated, 1);
    const d = store.get('PR1');
    assert.equal(d?.round, 2);
    assert.deepEqual(d ? watchedJobIds(d) : [], ['j2']);
    assert.deepEqual(applied, ['j2:running']);
    const second = await syncFromWorker(deps);
    assert.equal(store.get('PR1')?.rounds?.length, 2);
    assert.equal(second.updated, 1, 'known now: its state is applied, no round added');
    assert.deepEqual(applied, ['j2:running', 'j2:running']);
  });
});
