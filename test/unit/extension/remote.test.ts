// Delegations from any machine (delegations/remote.ts): the worker's list of this
// user's jobs merged with what the window knows; and what an agent used, in the
// view's tooltip and the terminal's last line, never a made-up zero.
import assert from 'node:assert/strict';
import { delegationFromJobs, fetchMyJobs, mergeRemoteJobs, syncFromWorker, type JobLister } from '../../../extension/delegations/remote.js';
import { describeUsage, tooltipLines } from '../../../extension/delegations/describe.js';
import { DelegationStore, MemoryMemento, type Delegation } from '../../../extension/delegations/model.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { describeJobUsage } from '../../../extension/worker/logFollower.js';
import { sendFollowUp } from '../../../extension/delegations/followUp.js';
import type { GitHubClient } from '../../../extension/github/client.js';
import type { JobStatus } from '../../../shared/protocol.js';

const WEB = 'https://github.com';
const T0 = Date.parse('2025-06-01T12:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function job(id: string, over: Partial<JobStatus> = {}): JobStatus {
  return {
    jobId: id,
    state: 'running',
    owner: 'alice',
    repo: 'app',
    branch: `kiro/${id}`,
    prNumber: 10,
    title: `Task ${id}`,
    attempts: 1,
    position: 0,
    slotId: 0,
    createdAt: iso(0),
    startedAt: iso(1),
    finishedAt: null,
    exitCode: null,
    signal: null,
    commitSha: null,
    error: null,
    outputTail: [],
    requestedBy: 'alice',
    ...over,
  };
}

function local(id: string, over: Partial<Delegation> = {}): Delegation {
  return {
    id,
    owner: 'alice',
    repo: 'app',
    branch: `kiro/${id}`,
    baseBranch: 'main',
    prNumber: 1,
    prUrl: `${WEB}/alice/app/pull/1`,
    title: id,
    taskCommitOid: 'a'.repeat(40),
    state: 'running',
    job: {
      owner: 'alice',
      repo: 'app',
      branch: `kiro/${id}`,
      prNumber: 1,
      baseBranch: 'main',
      title: id,
      taskDescription: '# x\n',
      idempotencyKey: id,
    },
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

/** A worker's paged list: `pages` in order, each with the cursor of the next. */
function lister(pages: JobStatus[][]): JobLister & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    async listMine(cursor) {
      asked.push(cursor);
      const i = cursor ? Number(cursor.slice(1)) : 0;
      return { kind: 'ok', list: { jobs: pages[i] ?? [], nextCursor: i + 1 < pages.length ? `c${i + 1}` : null } };
    },
  };
}

describe('delegations from any machine', function () {
  it('a job started elsewhere becomes a delegation with its live state and what the commands need', function () {
    const { added, known } = mergeRemoteJobs({
      local: [],
      jobs: [job('j1', { prNumber: 12, state: 'running', usage: { inputTokens: 5, outputTokens: 2 } })],
      webUrl: WEB,
    });
    assert.equal(known.length, 0);
    assert.equal(added.length, 1);
    const d = added[0]!;
    assert.equal(d.id, 'worker:j1');
    assert.match(`${d.id}-R2`, /^[A-Za-z0-9._:-]+$/, "a follow-up's idempotency key stays in the worker's pattern");
    assert.deepEqual(
      {
        owner: d.owner,
        repo: d.repo,
        branch: d.branch,
        prNumber: d.prNumber,
        jobId: d.jobId,
        state: d.state,
        jobState: d.jobState,
        title: d.title,
      },
      {
        owner: 'alice',
        repo: 'app',
        branch: 'kiro/j1',
        prNumber: 12,
        jobId: 'j1',
        state: 'running',
        jobState: 'running',
        title: 'Task j1',
      },
    );
    assert.equal(d.prUrl, 'https://github.com/alice/app/pull/12');
    assert.equal(d.fromWorker, true);
    assert.equal(d.notified, false, 'its end is still to be told, here too');
    assert.equal(d.createdAt, T0);
    assert.deepEqual(d.usage, { inputTokens: 5, outputTokens: 2 });
    // One that ended before this window heard of it is not announced again.
    const ended = delegationFromJobs([job('j2', { state: 'failed', error: { code: 'AGENT_FAILED', message: 'the agent exited 1' } })], WEB);
    assert.deepEqual(
      { state: ended.state, notified: ended.notified, problem: ended.problem },
      { state: 'failed', notified: true, problem: 'the agent exited 1' },
    );
    assert.equal(delegationFromJobs([job('j3', { state: 'succeeded', commitSha: 'c'.repeat(40) })], WEB).headOid, 'c'.repeat(40));
  });

  it('jobs this window sent are known (their state goes to the watcher), PRs it follows are left as they are, one delegation per other PR', function () {
    const here = local('PR1', {
      jobId: 'mine-1',
      prNumber: 1,
      rounds: [
        { round: 1, jobId: 'mine-0', taskCommitOid: 'x', state: 'pushed' },
        { round: 2, jobId: 'mine-1', taskCommitOid: 'y', state: 'running' },
      ],
    });
    const jobs = [
      job('mine-1', { prNumber: 1, state: 'succeeded' }),
      job('other-pr1', { prNumber: 1, createdAt: iso(5) }), // a round of a PR this window follows, sent elsewhere
      job('b2', { prNumber: 2, createdAt: iso(9), state: 'queued' }),
      job('b1', { prNumber: 2, createdAt: iso(3), state: 'succeeded', commitSha: 'd'.repeat(40) }),
      job('mine-0', { prNumber: 1, state: 'succeeded' }),
      job('c1', { prNumber: 3, repo: 'lib', createdAt: iso(4) }),
    ];
    const { added, known } = mergeRemoteJobs({ local: [here], jobs, webUrl: WEB });
    assert.deepEqual(
      known.map((j) => j.jobId),
      ['mine-1', 'mine-0'],
    );
    assert.deepEqual(
      added.map((d) => `${d.repo}#${d.prNumber}`),
      ['lib#3', 'app#2'],
      "newest first (by its first job); PR 1 stays the window's own",
    );
    const pr2 = added[1]!;
    assert.equal(pr2.jobId, 'b2', 'the newest job is the current round');
    assert.equal(pr2.id, 'worker:b1', 'named after its first job');
    assert.equal(pr2.round, 2);
    assert.deepEqual(
      pr2.rounds?.map((r) => [r.round, r.jobId, r.state]),
      [
        [1, 'b1', 'pushed'],
        [2, 'b2', 'queued'],
      ],
    );
    assert.equal(pr2.createdAt, T0 + 3 * 60_000);
  });

  it("a token worker lists everyone's jobs: only this login's are taken, none when the login is unknown", function () {
    const jobs = [
      job('a', { prNumber: 1, requestedBy: 'Alice' }),
      job('b', { prNumber: 2, requestedBy: 'bob' }),
      job('c', { prNumber: 3, requestedBy: undefined }),
    ];
    assert.deepEqual(
      mergeRemoteJobs({ local: [], jobs, webUrl: WEB, onlyLogin: 'alice' }).added.map((d) => d.jobId),
      ['a'],
    );
    assert.deepEqual(mergeRemoteJobs({ local: [], jobs, webUrl: WEB, onlyLogin: null }).added, []);
    assert.equal(mergeRemoteJobs({ local: [], jobs, webUrl: WEB }).added.length, 3, 'github mode: the worker already filtered');
  });

  it('adds no finished delegation the store would drop at once; an active one always', function () {
    const many = Array.from({ length: 4 }, (_, i) =>
      local(`L${i}`, { prNumber: 100 + i, state: 'pushed', createdAt: T0 + (10 + i) * 60_000 }),
    );
    const jobs = [
      job('new', { prNumber: 1, createdAt: iso(20), state: 'succeeded' }),
      job('old', { prNumber: 2, createdAt: iso(0), state: 'succeeded' }),
      job('oldActive', { prNumber: 3, createdAt: iso(-5), state: 'running' }),
    ];
    assert.deepEqual(
      mergeRemoteJobs({ local: many, jobs, webUrl: WEB, keep: 4 }).added.map((d) => d.jobId),
      ['new', 'oldActive'],
    );
  });

  it('pages through nextCursor, at most a few pages, keeping what came before an error', async function () {
    const pages = Array.from({ length: 5 }, (_, p) => [job(`p${p}`, { prNumber: p + 1 })]);
    const api = lister(pages);
    const got = await fetchMyJobs(api, { maxPages: 3 });
    assert.deepEqual(
      got.jobs.map((j) => j.jobId),
      ['p0', 'p1', 'p2'],
    );
    assert.equal(got.more, true);
    assert.deepEqual(api.asked, [undefined, 'c1', 'c2']);
    assert.equal((await fetchMyJobs(lister(pages.slice(0, 2)))).more, false);
    let n = 0;
    const flaky: JobLister = {
      listMine: async () =>
        n++ === 0 ? { kind: 'ok', list: { jobs: [job('x')], nextCursor: 'c1' } } : { kind: 'error', message: 'HTTP 502' },
    };
    assert.deepEqual(await fetchMyJobs(flaky), { jobs: [job('x')], error: 'HTTP 502', more: false });
  });

  it("a sync adds the others' delegations and moves the known ones; run twice, it adds nothing more", async function () {
    const store = new DelegationStore(new MemoryMemento());
    await store.upsert(local('PR1', { jobId: 'mine', prNumber: 1, state: 'running' }));
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => undefined,
      worker: () => undefined,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 1000,
    });
    const api = lister([
      [job('mine', { prNumber: 1, state: 'no-changes' }), job('elsewhere', { prNumber: 9, state: 'queued', position: 2 })],
    ]);
    const first = await syncFromWorker({ api, store, applyJob: (j) => watcher.applyJob(j), webUrl: WEB });
    assert.deepEqual(first, { added: 1, updated: 1 });
    assert.equal(store.get('PR1')?.state, 'no-changes', "the window's own delegation follows its job");
    assert.deepEqual(
      events.map((e) => e.type),
      ['job-ended'],
    );
    const other = store.all().find((d) => d.jobId === 'elsewhere');
    assert.equal(other?.state, 'queued');
    assert.equal(other?.position, 2);
    assert.equal((await syncFromWorker({ api, store, applyJob: (j) => watcher.applyJob(j), webUrl: WEB })).added, 0);
    assert.equal(store.all().length, 2);
    // Its later state arrives like any job's (the event stream, the poll).
    await watcher.applyJob(job('elsewhere', { prNumber: 9, state: 'succeeded', commitSha: 'e'.repeat(40), finishedAt: iso(9) }));
    assert.equal(store.all().find((d) => d.jobId === 'elsewhere')?.state, 'pushed');
    assert.equal(events.at(-1)?.type, 'pushed');
    watcher.dispose();
  });

  it("a sync against a token worker asks for the login only when there are jobs, and takes only that login's", async function () {
    const store = new DelegationStore(new MemoryMemento());
    let asked = 0;
    const onlyLogin = async () => {
      asked++;
      return 'alice';
    };
    await syncFromWorker({ api: lister([[]]), store, applyJob: async () => undefined, webUrl: WEB, onlyLogin });
    assert.equal(asked, 0, 'an empty list needs no login');
    const refused: JobLister = { listMine: async () => ({ kind: 'error', message: "mine=1 lists a signed-in user's jobs" }) };
    assert.deepEqual(await syncFromWorker({ api: refused, store, applyJob: async () => undefined, webUrl: WEB, onlyLogin }), {
      added: 0,
      updated: 0,
      error: "mine=1 lists a signed-in user's jobs",
    });
    assert.equal(asked, 0);
    const res = await syncFromWorker({
      api: lister([[job('a', { prNumber: 1 }), job('b', { prNumber: 2, requestedBy: 'bob' })]]),
      store,
      applyJob: async () => undefined,
      webUrl: WEB,
      onlyLogin,
    });
    assert.equal(asked, 1);
    assert.equal(res.added, 1);
    assert.deepEqual(
      store.all().map((d) => d.jobId),
      ['a'],
    );
  });

  it('a follow-up on a delegation started elsewhere asks GitHub for the base branch', async function () {
    const store = new DelegationStore(new MemoryMemento());
    const [d] = await store.upsertMany([
      delegationFromJobs([job('j1', { prNumber: 12, state: 'succeeded', commitSha: 'c'.repeat(40) })], WEB),
    ]);
    const asked: string[] = [];
    const github = {
      rest: {
        pulls: {
          get: async (p: { pull_number: number }) => {
            asked.push(`pulls.get ${p.pull_number}`);
            return { data: { base: { ref: 'develop' }, draft: false } };
          },
        },
      },
      graphql: async (query: string) => {
        if (query.includes('KiroTaskRead'))
          return { repository: { ref: { target: { oid: 'c'.repeat(40) } }, file: { text: '# Task j1\n' } } };
        return { createCommitOnBranch: { commit: { oid: 'f'.repeat(40) } } };
      },
    } as unknown as GitHubClient; // only the two calls a follow-up makes
    const sent: unknown[] = [];
    const worker = {
      submit: async (r: unknown) => {
        sent.push(r);
        return { kind: 'accepted' as const, jobId: 'j2', position: 0 };
      },
    };
    const res = await sendFollowUp(d!, 'Also add tests', { github, store, worker: () => worker as never });
    await res.sending;
    assert.deepEqual(asked, ['pulls.get 12']);
    const req = sent[0] as { baseBranch: string; idempotencyKey: string; taskDescription: string; prNumber: number };
    assert.equal(req.baseBranch, 'develop');
    assert.equal(req.prNumber, 12);
    assert.equal(req.idempotencyKey, 'worker:j1-R2');
    assert.match(req.taskDescription, /Follow-up 1/);
    assert.equal(store.get(d!.id)?.baseBranch, 'develop');
    assert.equal(store.get(d!.id)?.jobId, 'j2');
  });
});

describe('what an agent used', function () {
  it('tokens and cost as reported; "not reported" once a job ended without; nothing while it runs without', function () {
    assert.equal(
      describeUsage({ inputTokens: 12345, outputTokens: 2345, costUsd: 0.0412 }, 'succeeded'),
      'usage: 12,345 in / 2,345 out tokens · $0.04',
    );
    assert.equal(describeUsage({ inputTokens: 12345, outputTokens: 2345 }, 'succeeded'), 'usage: 12,345 in / 2,345 out tokens');
    assert.equal(describeUsage({ inputTokens: 1, outputTokens: 1, costUsd: 0.0001 }, 'running'), 'usage: 1 in / 1 out tokens · <$0.01');
    assert.equal(
      describeUsage({ inputTokens: 0, outputTokens: 0, costUsd: 0 }, 'failed'),
      'usage: 0 in / 0 out tokens · $0.00',
      'a zero the agent reported is shown',
    );
    assert.equal(describeUsage(undefined, 'no-changes'), 'usage not reported by this agent');
    assert.equal(describeUsage(undefined, 'running'), undefined);
    assert.equal(describeUsage(undefined, undefined), undefined);
    assert.equal(
      describeJobUsage({ state: 'succeeded', usage: { inputTokens: 12345, outputTokens: 2345, costUsd: 0.04 } }),
      'usage: 12,345 in / 2,345 out tokens · $0.04',
    );
    assert.equal(describeJobUsage({ state: 'failed' }), 'usage not reported by this agent');
  });

  it('the tooltip carries it, from the job the watcher applied', async function () {
    const store = new DelegationStore(new MemoryMemento());
    await store.upsert(local('PR1', { jobId: 'j', state: 'running' }));
    const watcher = new PrWatcher({
      store,
      github: async () => undefined,
      worker: () => undefined,
      notify: () => undefined,
      isFocused: () => true,
      intervalMs: 1000,
    });
    assert.ok(!tooltipLines(store.get('PR1')!).some((l) => /usage/i.test(l)), 'nothing while running without a report');
    await watcher.applyJob(
      job('j', {
        prNumber: 1,
        state: 'succeeded',
        commitSha: 'b'.repeat(40),
        usage: { inputTokens: 1200, outputTokens: 300, costUsd: 0.01 },
      }),
    );
    assert.ok(tooltipLines(store.get('PR1')!).includes('Usage: 1,200 in / 300 out tokens · $0.01'));
    await store.upsert(local('PR2', { jobId: 'k', state: 'running', prNumber: 2 }));
    await watcher.applyJob(job('k', { prNumber: 2, state: 'no-changes' }));
    assert.ok(tooltipLines(store.get('PR2')!).includes('Usage not reported by this agent'));
    assert.ok(tooltipLines(delegationFromJobs([job('z')], WEB)).includes('Started from another window or machine (listed by the worker)'));
    watcher.dispose();
  });
});
