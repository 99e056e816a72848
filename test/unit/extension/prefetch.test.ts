// The form's prefetch of the PR's preparing query: debounce, freshness, refresh while
// typing, the account check, with a fake clock and a fake query (no network).
import assert from 'node:assert/strict';
import { createGitHubClient, type GitHubClient } from '../../../extension/github/client.js';
import { isPreparedFresh, type PreparedRepo, type RepoKey } from '../../../extension/github/preparedRepo.js';
import { PrepareCache, type PrefetchDeps } from '../../../extension/github/prefetch.js';

/** A clock whose timers fire only when the test advances it. */
class FakeClock {
  t = 1_000_000;
  private seq = 0;
  private pending: { id: number; at: number; fn: () => void }[] = [];
  readonly now = () => this.t;
  readonly timers = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++this.seq;
      this.pending.push({ id, at: this.t + ms, fn });
      return id;
    },
    clearTimeout: (h: unknown) => {
      this.pending = this.pending.filter((p) => p.id !== h);
    },
  };
  get scheduled(): number {
    return this.pending.length;
  }
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.pending = this.pending.filter((p) => p !== due);
      due.fn();
    }
  }
}

/** Lets the promises already settled run their callbacks. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const key = (over: Partial<RepoKey> = {}): RepoKey => ({ owner: 'octo', repo: 'app', baseBranch: 'main', ...over });

describe("the form's prefetch of the preparing query", function () {
  let clock: FakeClock;
  let asked: RepoKey[];
  let client: GitHubClient;
  let logs: string[];
  let answer: (k: RepoKey, now: () => number) => Promise<PreparedRepo>;

  const cache = (over: Partial<PrefetchDeps> = {}) =>
    new PrepareCache({
      github: async () => client,
      now: clock.now,
      timers: clock.timers,
      log: (m) => logs.push(m),
      ask: (_c, k, now) => {
        asked.push(k);
        return answer(k, now);
      },
      ...over,
    });
  const prepared = (k: RepoKey, fetchedAt: number): PreparedRepo => ({
    ...k,
    repositoryId: 'R_1',
    viewerLogin: 'octo',
    viewerPermission: 'WRITE',
    baseOid: 'a'.repeat(40),
    fetchedAt,
  });

  beforeEach(function () {
    clock = new FakeClock();
    asked = [];
    logs = [];
    client = createGitHubClient({ token: 'ghp_one', baseUrl: 'https://api.github.com' });
    answer = async (k, now) => prepared(k, now());
  });

  it('asks once, 300 ms after the last change, for the last values; never for values that cannot be a repository and branch', async function () {
    const c = cache();
    c.schedule(key({ baseBranch: 'm' }));
    clock.advance(100);
    c.schedule(key({ baseBranch: 'ma' }));
    clock.advance(250);
    c.schedule(key({ baseBranch: ' main ' }));
    clock.advance(299);
    assert.deepEqual(asked, [], 'still typing');
    clock.advance(1);
    await c.idle();
    assert.deepEqual(asked, [key()], 'trimmed, once');
    c.schedule(key({ owner: '' }));
    c.schedule(key({ baseBranch: 'a..b' }));
    c.schedule(key({ repo: 'has space' }));
    assert.equal(clock.scheduled, 0);
    clock.advance(1000);
    assert.equal(asked.length, 1);
  });

  it('gives an answer back for a submit while it is at most 60 s old, for the same repository (any case) and base', async function () {
    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    const fetchedAt = clock.t;
    assert.equal((await c.lookup(client, key()))?.fetchedAt, fetchedAt);
    assert.equal((await c.lookup(client, key({ owner: 'Octo', repo: 'APP' })))?.repositoryId, 'R_1', 'GitHub names are case-insensitive');
    assert.equal(await c.lookup(client, key({ baseBranch: 'Main' })), undefined, 'branch names are not');
    assert.equal(await c.lookup(client, key({ baseBranch: 'develop' })), undefined);
    assert.equal(await c.lookup(client, key({ repo: 'other' })), undefined);
    clock.advance(60_000);
    assert.ok(await c.lookup(client, key()), 'exactly 60 s: fresh');
    clock.advance(1);
    assert.equal(await c.lookup(client, key()), undefined, 'stale');
    assert.equal(asked.length, 1, 'a lookup never asks');
  });

  it('keeps the answer fresh while the user types: asks again only once it is 20 s old', async function () {
    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    for (let i = 0; i < 19; i++) {
      clock.advance(1000);
      c.schedule(key()); // a keystroke in the objective
      clock.advance(0);
    }
    clock.advance(1000);
    assert.equal(asked.length, 1, 'young answers are kept');
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    assert.equal(asked.length, 2, 'asked again at 20 s');
    clock.advance(50_000);
    assert.ok(await c.lookup(client, key()), 'a submit 70 s after the form opened is still warm');
  });

  it('gives the answer only to the account and GitHub host that asked', async function () {
    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    assert.ok(
      await c.lookup(createGitHubClient({ token: 'ghp_one', baseUrl: 'https://api.github.com' }), key()),
      'same token, another client object',
    );
    assert.equal(
      await c.lookup(createGitHubClient({ token: 'ghp_two', baseUrl: 'https://api.github.com' }), key()),
      undefined,
      'another account',
    );
    assert.equal(
      await c.lookup(createGitHubClient({ token: 'ghp_one', baseUrl: 'https://ghe.example.com/api/v3' }), key()),
      undefined,
      'another host',
    );
  });

  it('a submit waits for a query already on its way, and drops one still waiting for the pause in typing', async function () {
    let release: () => void = () => undefined;
    answer = (k, now) => {
      const at = now();
      return new Promise((resolve) => (release = () => resolve(prepared(k, at))));
    };
    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await flush();
    assert.equal(asked.length, 1);
    c.schedule(key());
    clock.advance(300);
    await flush();
    assert.equal(asked.length, 1, 'not asked twice while on its way');
    let settled = false;
    const looked = c.lookup(client, key()).finally(() => (settled = true));
    await flush();
    assert.equal(settled, false, 'the submit waits');
    release();
    assert.ok(await looked, 'and gets the answer that was on its way');

    c.schedule(key({ baseBranch: 'develop' }));
    assert.equal(await c.lookup(client, key({ baseBranch: 'develop' })), undefined, 'nothing yet: the submit asks itself');
    clock.advance(1000);
    assert.equal(asked.length, 1, 'the pending query was dropped');
  });

  it('asks nothing without a token; a failed query is logged and forgets the older answer', async function () {
    const none = cache({ github: async () => undefined });
    none.schedule(key());
    clock.advance(300);
    await none.idle();
    assert.deepEqual(asked, []);

    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    answer = async () => {
      throw new Error('Branch "main" does not exist');
    };
    clock.advance(20_000);
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    assert.equal(await c.lookup(client, key()), undefined);
    assert.match(logs.join('\n'), /preparing octo\/app \(main\) ahead of submit failed: Branch "main" does not exist/);
  });

  it('forgets an answer when told (a submit that used it failed)', async function () {
    const c = cache();
    c.schedule(key());
    clock.advance(300);
    await c.idle();
    c.forget(key({ owner: 'OCTO' }));
    assert.equal(await c.lookup(client, key()), undefined);
  });

  it('does nothing once disposed', async function () {
    const c = cache();
    c.schedule(key());
    c.dispose();
    clock.advance(1000);
    c.schedule(key());
    clock.advance(1000);
    await c.idle();
    assert.deepEqual(asked, []);
  });

  it('isPreparedFresh: same repository and base, 0 to 60 s old', function () {
    const p = prepared(key(), 1000);
    assert.equal(isPreparedFresh(p, key(), 1000), true);
    assert.equal(isPreparedFresh(p, key(), 61_000), true);
    assert.equal(isPreparedFresh(p, key(), 61_001), false);
    assert.equal(isPreparedFresh(p, key(), 999), false, 'from the future: not trusted');
    assert.equal(isPreparedFresh(p, key({ baseBranch: 'dev' }), 1000), false);
    assert.equal(isPreparedFresh(p, key(), 5000, 1000), false, 'a shorter limit');
    assert.equal(isPreparedFresh(undefined, key(), 1000), false);
  });
});
