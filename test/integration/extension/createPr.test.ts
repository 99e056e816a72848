// The delegation's PR creation against the GitHub stand-in: two round trips (one
// with the form's prefetched answer), collisions, clean-up, permissions,
// concurrency and retries.
import assert from 'node:assert/strict';
import { GitHubStandIn } from '../../support/github/server.js';
import { createGitHubClient, webUrlOf } from '../../../extension/github/client.js';
import { createDelegationPr, prepareRepo, type CreatePrInput } from '../../../extension/github/createPr.js';
import { blobUrl } from '../../../extension/github/prBody.js';
import { DelegateError } from '../../../extension/github/errors.js';
import { lookupBaseBranches } from '../../../extension/github/baseBranches.js';
import { parseTaskMarkdown } from '../../../shared/taskMarkdown.js';
import { ZERO_OID } from '../../support/github/bareRepo.js';

describe('creating the delegation PR', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let alice: { token: string };
  const client = (token: string) => createGitHubClient({ token, baseUrl: gh.apiUrl, retryAfterBaseValue: 1 });
  const input = (over: Partial<CreatePrInput> = {}): CreatePrInput => ({
    owner: 'alice',
    repo: 'app',
    baseBranch: 'main',
    prTitle: 'Add a login form',
    task: { title: 'Add a login form', objective: 'Users sign in.', constraints: ['No new deps'], acceptanceCriteria: ['Form validates'] },
    ...over,
  });
  const branches = async () =>
    [...((await gh.model.repo('alice', 'app')?.bare.refs()) ?? new Map()).keys()].map((r) => r.replace('refs/heads/', '')).sort();

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  });
  after(async () => gh.close());
  beforeEach(() => {
    gh.clearLog();
    gh.beforeMutationField = undefined;
  });

  it('takes exactly 2 requests: a branch, a TASK.md commit matching the form, a PR with the right base, head and title', async function () {
    const created = await createDelegationPr(input({ branchPrefix: 'kiro/' }), { client: client(alice.token), now: () => 1764000000000 });
    assert.equal(
      gh.count((r) => r.kind !== 'git'),
      2,
      JSON.stringify(gh.requests),
    );
    assert.equal(created.roundTrips, 2);
    assert.equal(created.viewerLogin, 'alice', 'the viewer comes with the same query: the worker asks them to review');
    assert.equal(created.branchName, 'kiro/add-a-login-form-1764000000000');
    assert.equal(created.confirmationCode, 'PR1764000000000');
    const repo = gh.model.repo('alice', 'app');
    assert.equal(await repo?.bare.resolve(`refs/heads/${created.branchName}`), created.taskCommitOid);
    const md = (await repo?.bare.readFile(created.taskCommitOid, 'TASK.md')) ?? '';
    const task = parseTaskMarkdown(md);
    assert.deepEqual(task, {
      title: 'Add a login form',
      objective: 'Users sign in.',
      constraints: ['No new deps'],
      acceptanceCriteria: ['Form validates'],
      confirmationCode: 'PR1764000000000',
    });
    const [commit] = (await repo?.bare.log(`refs/heads/main..${created.taskCommitOid}`)) ?? [];
    assert.equal(commit?.subject, 'task: Add a login form');
    const pr = repo?.pulls.find((p) => p.number === created.number);
    assert.deepEqual([pr?.base, pr?.head, pr?.title, pr?.state], ['main', created.branchName, 'Add a login form', 'open']);
    assert.equal(created.prUrl, `${gh.webUrl}/alice/app/pull/${created.number}`);
  });

  it("links TASK.md in the PR body absolutely, on the PR's branch (GitHub's web URL, or the one configured for Enterprise)", async function () {
    const created = await createDelegationPr(input({ branchPrefix: 'kiro/' }), { client: client(alice.token), now: () => 1764000000010 });
    const pr = gh.model.repo('alice', 'app')?.pulls.find((p) => p.number === created.number);
    const link = `${gh.webUrl}/alice/app/blob/${created.branchName}/TASK.md`;
    assert.ok(pr?.body.includes(`[\`TASK.md\`](${link})`), pr?.body);
    assert.doesNotMatch(pr?.body ?? '', /\]\(\.\//, 'no relative link');
    // The link leads to the file: the stand-in serves TASK.md on that branch.
    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Add a login form/);
    const ghe = await createDelegationPr(input({ webUrl: 'https://ghe.example.com/' }), {
      client: client(alice.token),
      now: () => 1764000000011,
    });
    const body = gh.model.repo('alice', 'app')?.pulls.find((p) => p.number === ghe.number)?.body ?? '';
    assert.ok(body.includes(`(https://ghe.example.com/alice/app/blob/${ghe.branchName}/TASK.md)`), body);
    assert.equal(blobUrl('https://github.com', 'o', 'r', 'kiro/a b#1', 'TASK.md'), 'https://github.com/o/r/blob/kiro/a%20b%231/TASK.md');
    assert.equal(webUrlOf('https://api.github.com'), 'https://github.com');
    assert.equal(webUrlOf('https://ghe.corp/api/v3/'), 'https://ghe.corp');
  });

  it("looks up the default branch and whether the workspace's branch is on GitHub, for the form", async function () {
    await gh.createRepo('alice', 'trunky', { defaultBranch: 'trunk' });
    assert.deepEqual(await lookupBaseBranches(client(alice.token), 'alice', 'trunky', 'trunk'), {
      defaultBranch: 'trunk',
      currentOnRemote: true,
    });
    assert.deepEqual(await lookupBaseBranches(client(alice.token), 'alice', 'trunky', 'local-only'), {
      defaultBranch: 'trunk',
      currentOnRemote: false,
    });
    assert.deepEqual(await lookupBaseBranches(client(alice.token), 'alice', 'trunky'), {
      defaultBranch: 'trunk',
      currentOnRemote: undefined,
    });
    await assert.rejects(lookupBaseBranches(client(alice.token), 'alice', 'nope', 'main'));
  });

  it('adds a random suffix when the branch name already exists, still in 2 requests', async function () {
    const now = () => 1764000000001;
    const first = await createDelegationPr(input(), { client: client(alice.token), now });
    gh.clearLog();
    const second = await createDelegationPr(input(), { client: client(alice.token), now, suffix: () => 'zz99' });
    assert.equal(first.branchName, 'add-a-login-form-1764000000001');
    assert.equal(second.branchName, 'add-a-login-form-1764000000001-zz99');
    assert.equal(
      gh.count((r) => r.kind !== 'git'),
      2,
    );
  });

  it("when two clients race for one name, neither leaves its TASK.md or an open PR on the other's branch, and no branch is orphaned", async function () {
    const now = () => 1764000000002;
    // Hold mutation fields until both documents wait, then release the later one first:
    // this interleaves the two documents field by field, the worst case for the design.
    let waiting: (() => void)[] = [];
    let released = 0;
    gh.beforeMutationField = () =>
      new Promise<void>((resolve) => {
        if (released >= 6) return resolve();
        waiting.push(resolve);
        if (waiting.length === 2) {
          const [a, b] = waiting;
          waiting = [];
          released += 2;
          b?.();
          setTimeout(() => a?.(), 30);
        }
      });
    const before = await branches();
    let n = 0;
    const [x, y] = await Promise.all([
      createDelegationPr(input({ prTitle: 'X' }), { client: client(alice.token), now, suffix: () => `x${n++}` }),
      createDelegationPr(input({ prTitle: 'Y' }), { client: client(alice.token), now, suffix: () => `y${n++}` }),
    ]);
    assert.ok(x && y);
    assert.notEqual(x.branchName, y.branchName);
    const repo = gh.model.repo('alice', 'app');
    for (const mine of [x, y]) {
      const md = (await repo?.bare.readFile(`refs/heads/${mine.branchName}`, 'TASK.md')) ?? '';
      assert.equal(parseTaskMarkdown(md).confirmationCode, mine.confirmationCode);
      const log = (await repo?.bare.log(`refs/heads/main..refs/heads/${mine.branchName}`)) ?? [];
      assert.equal(log.length, 1, 'exactly one TASK.md commit on each branch');
    }
    const open = repo?.pulls.filter((p) => p.state === 'open' && (p.title === 'X' || p.title === 'Y')) ?? [];
    assert.deepEqual(open.map((p) => p.head).sort(), [x.branchName, y.branchName].sort(), 'only the two final PRs are open');
    const after = await branches();
    assert.deepEqual(after.filter((b) => !before.includes(b)).sort(), [x.branchName, y.branchName].sort(), 'no orphan branch');
  });

  it('deletes the branch when a later step fails, and says why', async function () {
    const before = await branches();
    gh.beforeMutationField = (field) => {
      if (field === 'createPullRequest') throw new Error('Pull request creation is blocked by a repository rule');
    };
    await assert.rejects(
      createDelegationPr(input(), { client: client(alice.token), now: () => 1764000000003 }),
      (e: unknown) => DelegateError.is(e) && e.code === 'GITHUB_ERROR' && /repository rule/.test(e.message),
    );
    assert.deepEqual(await branches(), before, 'no orphan branch');
  });

  it('says plainly when the repository is missing, not writable, or the base branch is missing', async function () {
    const bob = gh.addUser('bob');
    const cases: [CreatePrInput, string, string][] = [
      [input({ repo: 'nope' }), 'REPO_NOT_FOUND', 'repo'],
      [input({ baseBranch: 'develop' }), 'BASE_BRANCH_MISSING', 'baseBranch'],
    ];
    for (const [inp, code, field] of cases) {
      await assert.rejects(
        createDelegationPr(inp, { client: client(alice.token) }),
        (e: unknown) => DelegateError.is(e) && e.code === code && e.field === field,
      );
    }
    await assert.rejects(
      createDelegationPr(input(), { client: client(bob.token) }),
      (e: unknown) => DelegateError.is(e) && e.code === 'NO_WRITE_PERMISSION' && /cannot push/.test(e.message),
    );
    await assert.rejects(
      createDelegationPr(input(), { client: client('ghp_revoked') }),
      (e: unknown) => DelegateError.is(e) && e.code === 'NOT_SIGNED_IN',
    );
  });

  it('gives 20 concurrent delegations from 20 users 20 distinct branches and PRs', async function () {
    const users = Array.from({ length: 20 }, (_, i) => gh.addUser(`dev${i}`));
    for (const u of users) gh.grant('alice', 'app', u.login, 'WRITE');
    const before = await branches();
    const results = await Promise.all(
      users.map((u) => createDelegationPr(input({ prTitle: `from ${u.login}` }), { client: client(u.token) })),
    );
    assert.equal(new Set(results.map((r) => r.branchName)).size, 20);
    assert.equal(new Set(results.map((r) => r.number)).size, 20);
    const repo = gh.model.repo('alice', 'app');
    for (const r of results) {
      const pr = repo?.pulls.find((p) => p.number === r.number);
      assert.equal(pr?.head, r.branchName);
      assert.equal(pr?.state, 'open');
      assert.equal(await repo?.bare.resolve(`refs/heads/${r.branchName}`), r.taskCommitOid);
    }
    assert.equal((await branches()).length - before.length, 20, 'no orphan branch');
  });

  it('retries 5xx and secondary rate limits (Octokit plugins), and checks before replaying a lost mutation', async function () {
    gh.inject({ method: 'POST', path: /graphql/, status: 502 });
    gh.inject({ graphqlField: 'createRef', status: 403, headers: { 'retry-after': '1' } });
    gh.inject({ graphqlField: 'createRef', status: 502 });
    const created = await createDelegationPr(input(), { client: client(alice.token), now: () => 1764000000004 });
    const repo = gh.model.repo('alice', 'app');
    assert.equal(await repo?.bare.resolve(`refs/heads/${created.branchName}`), created.taskCommitOid);
    const statuses = gh.requests.filter((r) => r.kind === 'graphql').map((r) => r.status);
    assert.deepEqual(statuses, [502, 200, 403, 502, 200, 200], 'prepare retried; mutation throttled, lost, checked, then run');
  });

  describe("with the preparing answer asked ahead (the form's prefetch)", function () {
    const key = { owner: 'alice', repo: 'app', baseBranch: 'main' };
    const graphqlFields = () => gh.requests.filter((r) => r.kind === 'graphql').flatMap((r) => r.graphqlFields ?? []);

    it('submits in exactly 1 request: the same branch, TASK.md commit and PR as in 2', async function () {
      const t = 1764000200000;
      const prepared = await prepareRepo(client(alice.token), key, () => t - 30_000);
      assert.equal(prepared.viewerLogin, 'alice');
      assert.equal(prepared.baseOid, await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/main'));
      gh.clearLog();
      const created = await createDelegationPr(input({ branchPrefix: 'kiro/' }), { client: client(alice.token), now: () => t, prepared });
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        1,
        JSON.stringify(gh.requests),
      );
      assert.deepEqual(
        graphqlFields().filter((f) => !['createRef', 'createCommitOnBranch', 'createPullRequest'].includes(f)),
        [],
        'no query at submit',
      );
      assert.equal(created.roundTrips, 1);
      assert.equal(created.viewerLogin, 'alice');
      assert.equal(created.branchName, `kiro/add-a-login-form-${t}`);
      const repo = gh.model.repo('alice', 'app');
      assert.equal(await repo?.bare.resolve(`refs/heads/${created.branchName}`), created.taskCommitOid);
      assert.deepEqual(parseTaskMarkdown((await repo?.bare.readFile(created.taskCommitOid, 'TASK.md')) ?? ''), {
        title: 'Add a login form',
        objective: 'Users sign in.',
        constraints: ['No new deps'],
        acceptanceCriteria: ['Form validates'],
        confirmationCode: `PR${t}`,
      });
      const [commit] = (await repo?.bare.log(`refs/heads/main..${created.taskCommitOid}`)) ?? [];
      assert.equal(commit?.subject, 'task: Add a login form');
      const pr = repo?.pulls.find((p) => p.number === created.number);
      assert.deepEqual([pr?.base, pr?.head, pr?.title, pr?.state], ['main', created.branchName, 'Add a login form', 'open']);
    });

    it('asks again (2 requests) when the answer is over a minute old, or for another base or repository', async function () {
      const t = 1764000300000;
      const prepared = await prepareRepo(client(alice.token), key, () => t);
      const repo = gh.model.repo('alice', 'app');
      const mainOid = (await repo?.bare.resolve('refs/heads/main')) ?? '';
      await repo?.bare.updateRef('refs/heads/develop', mainOid, ZERO_OID);
      const cases: [string, CreatePrInput, number][] = [
        ['60 s old: still fresh', input({ prTitle: 'fresh' }), t + 60_000],
        ['stale', input({ prTitle: 'stale' }), t + 60_001],
        ['another base', input({ prTitle: 'develop', baseBranch: 'develop' }), t + 1],
        ['asked before the clock says now', input({ prTitle: 'future' }), t - 1],
      ];
      for (const [what, inp, now] of cases) {
        gh.clearLog();
        const created = await createDelegationPr(inp, { client: client(alice.token), now: () => now, prepared });
        assert.equal(
          gh.count((r) => r.kind !== 'git'),
          what.includes('fresh') ? 1 : 2,
          what,
        );
        const pr = repo?.pulls.find((p) => p.number === created.number);
        assert.deepEqual([pr?.base, pr?.state], [inp.baseBranch, 'open'], what);
      }
      gh.clearLog();
      await assert.rejects(
        createDelegationPr(input({ repo: 'nope' }), { client: client(alice.token), now: () => t + 1, prepared }),
        (e: unknown) => DelegateError.is(e) && e.code === 'REPO_NOT_FOUND',
      );
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        1,
        'another repository: the query runs (and finds nothing), no mutation',
      );
      await repo?.bare.deleteRef('refs/heads/develop');
    });

    it('a name taken since the prefetch: our createRef fails, the retry takes a suffixed name, nothing is left on theirs', async function () {
      const t = 1764000400000;
      const bob = gh.addUser('bob-taker');
      gh.grant('alice', 'app', 'bob-taker', 'WRITE');
      const prepared = await prepareRepo(client(alice.token), key, () => t - 10_000);
      const before = await branches();
      const pullsBefore = gh.model.repo('alice', 'app')?.pulls.length ?? 0;
      // Between prefetch and submit, another delegation takes the very name (same title, same millisecond).
      const theirs = await createDelegationPr(input({ prTitle: 'Theirs' }), { client: client(bob.token), now: () => t });
      assert.equal(theirs.branchName, `add-a-login-form-${t}`);
      gh.clearLog();
      const ours = await createDelegationPr(input({ prTitle: 'Ours' }), {
        client: client(alice.token),
        now: () => t,
        prepared,
        suffix: () => 'q1w2',
      });
      assert.equal(ours.branchName, `add-a-login-form-${t}-q1w2`);
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        2,
        'the failed document, then the one with the new name',
      );
      assert.equal(ours.roundTrips, 2);
      assert.ok(
        !graphqlFields().some((f) => f === 'deleteRef' || f === 'closePullRequest'),
        'nothing of ours acted on their branch: nothing to undo',
      );
      const repo = gh.model.repo('alice', 'app');
      assert.equal(await repo?.bare.resolve(`refs/heads/${theirs.branchName}`), theirs.taskCommitOid, 'their branch untouched');
      assert.equal(((await repo?.bare.log(`refs/heads/main..refs/heads/${theirs.branchName}`)) ?? []).length, 1);
      assert.equal(
        parseTaskMarkdown((await repo?.bare.readFile(`refs/heads/${ours.branchName}`, 'TASK.md')) ?? '').confirmationCode,
        ours.confirmationCode,
      );
      const added = (repo?.pulls ?? []).slice(pullsBefore);
      assert.deepEqual(
        added.map((p) => [p.title, p.head, p.state]),
        [
          ['Theirs', theirs.branchName, 'open'],
          ['Ours', ours.branchName, 'open'],
        ],
        'one PR each, none closed',
      );
      assert.deepEqual(
        (await branches()).filter((b) => !before.includes(b)).sort(),
        [theirs.branchName, ours.branchName].sort(),
        'no orphan branch',
      );
    });

    it('keeps the base head seen at prefetch when the base moved since (the PR shows the base moved on)', async function () {
      const t = 1764000500000;
      const prepared = await prepareRepo(client(alice.token), key, () => t - 5_000);
      const repo = gh.model.repo('alice', 'app');
      const seen = (await repo?.bare.resolve('refs/heads/main')) ?? '';
      const moved =
        (await repo?.bare.commit({
          parent: seen,
          additions: [{ path: 'NEWS.md', contents: 'moved\n' }],
          message: 'docs: news',
          author: { name: 'a', email: 'a@example.com' },
        })) ?? '';
      assert.ok(await repo?.bare.updateRef('refs/heads/main', moved, seen));
      gh.clearLog();
      const created = await createDelegationPr(input({ prTitle: 'Moved base' }), { client: client(alice.token), now: () => t, prepared });
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        1,
      );
      assert.equal(created.baseOid, seen);
      assert.equal(
        (await repo?.bare.git(['rev-parse', `${created.taskCommitOid}^`]))?.trim(),
        seen,
        'TASK.md on top of the head seen at prefetch',
      );
      assert.equal(repo?.pulls.find((p) => p.number === created.number)?.base, 'main');
    });

    it('checks permission: lost since the prefetch is refused with nothing created; a refusal prefetched is asked again', async function () {
      const t = 1764000600000;
      const carol = gh.addUser('carol-perm');
      gh.grant('alice', 'app', 'carol-perm', 'WRITE');
      const prepared = await prepareRepo(client(carol.token), key, () => t - 5_000);
      gh.grant('alice', 'app', 'carol-perm', 'READ');
      const before = await branches();
      gh.clearLog();
      await assert.rejects(
        createDelegationPr(input(), { client: client(carol.token), now: () => t, prepared }),
        (e: unknown) => DelegateError.is(e) && e.code === 'NO_WRITE_PERMISSION' && e.field === 'repo',
      );
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        1,
      );
      assert.deepEqual(await branches(), before, 'nothing created');
      // Prefetched while read-only, write access granted since: not refused from the old answer.
      const refused = await prepareRepo(client(carol.token), key, () => t);
      assert.equal(refused.viewerPermission, 'READ');
      gh.grant('alice', 'app', 'carol-perm', 'WRITE');
      gh.clearLog();
      const created = await createDelegationPr(input(), { client: client(carol.token), now: () => t + 1, prepared: refused });
      assert.equal(
        gh.count((r) => r.kind !== 'git'),
        2,
      );
      assert.equal(created.viewerLogin, 'carol-perm');
    });
  });
});
