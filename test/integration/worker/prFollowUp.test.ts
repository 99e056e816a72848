// What a job's pull request hears once the job ends, through the real worker, the
// scripted agent and the GitHub stand-in (no injected commenter: comments, GraphQL
// and REST go through Octokit with the job's credential): the summary of a push
// with its diffstat, a draft made ready for review and the delegating user asked to
// review, the cancel notice, and a cancel racing the push.
import assert from 'node:assert/strict';
import { GitHubStandIn } from '../../support/github/server.js';
import type { GitRequest } from '../../support/github/gitHttp.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../../support/worker.js';
import type { GenerateCodeRequest } from '../../../shared/protocol.js';

describe('PR follow-up after a job', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  let seq = 0;
  const nextBranch = (what: string) => `${what}-${Date.now()}-${seq++}`;
  const repo = () => {
    const r = gh.model.repo('alice', 'app');
    if (!r) throw new Error('no repo');
    return r;
  };
  const pull = (n: number) => {
    const p = repo().pulls.find((x) => x.number === n);
    if (!p) throw new Error(`no PR ${n}`);
    return p;
  };
  const commentOn = (n: number, text: RegExp) =>
    pollUntil(() => repo().comments.find((c) => c.issueNumber === n && text.test(c.body)), { what: `a comment on #${n} matching ${text}` });
  const readyMutations = () => gh.count((r) => r.kind === 'graphql' && (r.graphqlFields ?? []).includes('markPullRequestReadyForReview'));
  const reviewRequests = (n: number) =>
    gh.count((r) => r.method === 'POST' && r.path === `/api/v3/repos/alice/app/pulls/${n}/requested_reviewers`);

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    gh.addUser('bob');
    gh.addUser('carol');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    gh.grant('alice', 'app', 'bob', 'WRITE');
  });
  after(async () => gh.close());
  afterEach(() => {
    gh.beforeGit = undefined;
  });

  async function withWorker(extra: Record<string, string>, fn: (w: TestWorker, c: WorkerClient) => Promise<void>): Promise<void> {
    const w = await startWorker(workerEnv(gh, bot.token, await tempDir(), extra), {
      agentEnv: { FAKE_KIRO_STEP_MS: '10', ...Object.fromEntries(Object.entries(extra).filter(([k]) => k.startsWith('FAKE_KIRO_'))) },
    });
    try {
      await fn(w, new WorkerClient(w.url));
    } finally {
      await w.close();
    }
  }

  /** A task PR as the extension makes it; `draft` as the user's setting made it. */
  async function taskPr(
    what: string,
    opts: { draft?: boolean; taskExtra?: string } = {},
  ): Promise<{ branch: string; number: number; taskSha: string }> {
    const branch = nextBranch(what.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, what, opts.taskExtra);
    pull(pr.number).draft = opts.draft ?? false;
    return { branch, ...pr };
  }

  const request = (
    pr: { branch: string; number: number },
    title: string,
    extra: Partial<GenerateCodeRequest> = {},
  ): GenerateCodeRequest => ({ ...jobRequest('alice', 'app', pr.branch, pr.number, title), ...extra });

  it("after a push, comments a summary: the commit, the duration, the diffstat of the agent's files and its last lines", async function () {
    await withWorker({}, async (_w, c) => {
      const pr = await taskPr('Summary');
      const job = await c.submit(request(pr, 'Summary'));
      const done = await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes']);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      assert.deepEqual(done.changes, {
        files: [{ path: 'kiro/IMPLEMENTATION.md', added: 3, removed: 0 }],
        filesChanged: 1,
        added: 3,
        removed: 0,
      });
      const comment = await commentOn(pr.number, /Kiro pushed its changes/);
      assert.equal(comment.author, 'kiro-bot');
      assert.match(
        comment.body,
        new RegExp(`Pushed \`${done.commitSha?.slice(0, 12)}\` to \`${pr.branch}\` after \\d+ s \\(job \`${job.jobId}\`, attempt 1\\)`),
      );
      assert.match(comment.body, /```\n kiro\/IMPLEMENTATION\.md \| +3 \+\+\+\n 1 file changed, 3 insertions\(\+\), 0 deletions\(-\)\n```/);
      assert.match(comment.body, /Last lines of the agent's output[\s\S]*Wrote kiro\/IMPLEMENTATION\.md[\s\S]*Done\./);
      assert.equal(repo().comments.filter((x) => x.issueNumber === pr.number).length, 1, 'one comment per job');
    });
  });

  it("counts only the agent's files when the branch moved and its work was rebased onto it", async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '400' }, async (_w, c) => {
      const pr = await taskPr('Moved summary');
      const job = await c.submit(request(pr, 'Moved summary'));
      await c.waitFor(job.jobId, ['running']);
      const head = await repo().bare.resolve(`refs/heads/${pr.branch}`);
      const human = await repo().bare.commit({
        parent: head,
        additions: [{ path: 'HUMAN.md', contents: 'one\ntwo\n' }],
        message: 'human edit',
        author: { name: 'alice', email: 'a@e' },
      });
      assert.ok(await repo().bare.updateRef(`refs/heads/${pr.branch}`, human, head ?? ''));
      const done = await c.waitFor(job.jobId, ['succeeded', 'failed']);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      assert.deepEqual(
        done.changes?.files.map((f) => f.path),
        ['kiro/IMPLEMENTATION.md'],
        "the human's HUMAN.md is not the agent's",
      );
      const comment = await commentOn(pr.number, /Kiro pushed its changes/);
      assert.doesNotMatch(comment.body, /HUMAN\.md/);
    });
  });

  it("marks a draft PR ready for review and asks the delegating user to review, with the job's credential", async function () {
    await withWorker({}, async (_w, c) => {
      const pr = await taskPr('Draft', { draft: true });
      const mutations = readyMutations();
      const job = await c.submit(request(pr, 'Draft', { requestedBy: 'bob', draft: true }));
      assert.equal((await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes'])).state, 'succeeded');
      // The stand-in logs a request once its answer is sent.
      await pollUntil(() => reviewRequests(pr.number) > 0, { what: 'a review request' });
      assert.equal(pull(pr.number).draft, false, 'ready for review');
      assert.deepEqual(pull(pr.number).requestedReviewers, ['bob']);
      assert.equal(readyMutations() - mutations, 1);
      // Enterprise-style API base (…/api/v3): GraphQL went to …/api/graphql, as the bot.
      const graphql = gh.requests.filter(
        (r) => r.kind === 'graphql' && r.user === 'kiro-bot' && (r.graphqlFields ?? []).includes('markPullRequestReadyForReview'),
      );
      assert.deepEqual(
        graphql.map((r) => [r.path, r.status]),
        [['/api/graphql', 200]],
      );
      const rest = gh.requests.filter((r) => r.path === `/api/v3/repos/alice/app/pulls/${pr.number}/requested_reviewers`);
      assert.deepEqual(
        rest.map((r) => [r.method, r.status, r.user]),
        [['POST', 201, 'kiro-bot']],
      );
      // The summary is on the PR before the reviewer is asked to look.
      const comment = await commentOn(pr.number, /Kiro pushed its changes/);
      const asked = rest[0]?.at ?? 0;
      assert.ok(Date.parse(comment.createdAt) <= asked, 'commented, then asked for the review');
    });
  });

  it("asks nobody when the delegating user is the PR's author (GitHub refuses that), and still makes the draft ready", async function () {
    await withWorker({}, async (w, c) => {
      const pr = await taskPr('Own draft', { draft: true });
      const job = await c.submit(request(pr, 'Own draft', { requestedBy: 'alice', draft: true }));
      assert.equal((await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes'])).state, 'succeeded');
      await settled(w);
      assert.equal(pull(pr.number).draft, false, 'ready for review');
      await commentOn(pr.number, /Kiro pushed its changes/);
      assert.equal(reviewRequests(pr.number), 0);
      assert.deepEqual(pull(pr.number).requestedReviewers, []);
    });
  });

  it("on a PR that is no draft: no mutation, only the review request; an old client's request (neither field) changes nothing", async function () {
    await withWorker({}, async (w, c) => {
      const before = readyMutations();
      const pr = await taskPr('Not draft');
      const job = await c.submit(request(pr, 'Not draft', { requestedBy: 'bob', draft: false }));
      assert.equal((await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes'])).state, 'succeeded');
      await pollUntil(() => pull(pr.number).requestedReviewers.length > 0, { what: 'a review request' });
      assert.deepEqual(pull(pr.number).requestedReviewers, ['bob']);

      const old = await taskPr('Old client');
      const oldJob = await c.submit(request(old, 'Old client'));
      assert.equal((await c.waitFor(oldJob.jobId, ['succeeded', 'failed', 'no-changes'])).state, 'succeeded');
      await settled(w);
      await commentOn(old.number, /Kiro pushed its changes/);
      assert.equal(readyMutations(), before, 'no markPullRequestReadyForReview for a PR that is no draft');
      assert.equal(reviewRequests(old.number), 0);
      assert.equal(pull(old.number).draft, false);
    });
  });

  it('never fails the job when GitHub refuses the review request', async function () {
    await withWorker({}, async (w, c) => {
      const pr = await taskPr('Refused', { draft: true });
      // carol is no collaborator: GitHub answers 422.
      const job = await c.submit(request(pr, 'Refused', { requestedBy: 'carol', draft: true }));
      const done = await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes']);
      assert.equal(done.state, 'succeeded');
      await pollUntil(
        () => gh.count((r) => r.path === `/api/v3/repos/alice/app/pulls/${pr.number}/requested_reviewers` && r.status === 422) === 1,
        { what: 'the refused review request' },
      );
      await commentOn(pr.number, /Kiro pushed its changes/);
      assert.equal(pull(pr.number).draft, false);
      assert.deepEqual(pull(pr.number).requestedReviewers, []);
      assert.equal((await c.job(job.jobId)).state, 'succeeded');
      // And when GitHub is down for the lookup.
      const down = await taskPr('Down', { draft: true });
      gh.inject({ graphqlField: 'repository', status: 502 });
      const job2 = await c.submit(request(down, 'Down', { requestedBy: 'bob', draft: true }));
      assert.equal((await c.waitFor(job2.jobId, ['succeeded', 'failed', 'no-changes'])).state, 'succeeded');
      await settled(w);
      await commentOn(down.number, /Kiro pushed its changes/);
      await pollUntil(() => gh.count((r) => r.kind === 'graphql' && r.status === 502) === 1, { what: 'the failed lookup' });
      assert.equal(pull(down.number).draft, true, 'left as it was');
      assert.deepEqual(pull(down.number).requestedReviewers, []);
    });
  });

  it('comments that a running job, and a queued one, were cancelled from VS Code or the worker API', async function () {
    await withWorker({ KIRO_WORKER_SLOTS: '1' }, async (_w, c) => {
      const running = await taskPr('Cancel running', { taskExtra: '\n[scenario: hang]' });
      const queued = await taskPr('Cancel queued');
      const a = await c.submit(request(running, 'Cancel running'));
      await pollUntil(async () => (await c.job(a.jobId)).outputTail.some((l) => l.includes('thinking forever')), {
        what: 'the agent to be thinking',
      });
      const b = await c.submit(request(queued, 'Cancel queued'));
      assert.equal(b.state, 'queued');
      const qAnswer = (await (await c.request('POST', `/jobs/${b.jobId}/cancel`)).json()) as { state: string };
      assert.equal(qAnswer.state, 'cancelled');
      await c.request('POST', `/jobs/${a.jobId}/cancel`);
      const done = await c.waitFor(a.jobId, ['cancelled', 'failed', 'succeeded']);
      assert.equal(done.state, 'cancelled');

      const ran = await commentOn(running.number, /was cancelled/);
      assert.equal(ran.author, 'kiro-bot');
      assert.match(ran.body, /^### Kiro's job on this task was cancelled/);
      assert.match(ran.body, /cancelled from VS Code or the worker API \(cancelled while the agent was running\)\. Nothing was pushed\./);
      assert.match(ran.body, new RegExp(`Job \`${a.jobId}\`, attempt 1\\.`));
      assert.match(ran.body, /Last lines of the agent's output[\s\S]*thinking forever/);
      const waited = await commentOn(queued.number, /was cancelled/);
      assert.match(waited.body, /cancelled from VS Code or the worker API \(cancelled before it started\)/);
      assert.match(waited.body, new RegExp(`Job \`${b.jobId}\`; it had not started\\.`));
      assert.doesNotMatch(waited.body, /<details>/);
      assert.equal(await repo().bare.resolve(`refs/heads/${running.branch}`), running.taskSha, 'nothing pushed');
    });
  });

  it('a cancel that arrives once the push has started changes nothing: the job is succeeded with its commit, and the answer says so', async function () {
    await withWorker({}, async (w, c) => {
      const pr = await taskPr('Cancel late');
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let pushing: GitRequest | undefined;
      gh.beforeGit = async (g) => {
        if (g.service !== 'receive-pack') return;
        pushing = g;
        await gate;
      };
      const job = await c.submit(request(pr, 'Cancel late'));
      await pollUntil(() => pushing, { what: 'the push to reach GitHub' });
      assert.equal(w.queue.jobs.get(job.jobId)?.state, 'pushing');
      const cancelling = w.queue.cancel(job.jobId); // what POST /jobs/:id/cancel does
      release();
      const answered = await cancelling;
      assert.equal(answered.state, 'succeeded');
      const head = await repo().bare.resolve(`refs/heads/${pr.branch}`);
      assert.ok(answered.commitSha);
      assert.equal(answered.commitSha, head, 'the commit it reports is on the branch');
      const again = (await (await c.request('POST', `/jobs/${job.jobId}/cancel`)).json()) as { state: string; commitSha: string };
      assert.deepEqual([again.state, again.commitSha], ['succeeded', head], 'a cancel of a finished job answers with the job as it is');
      await commentOn(pr.number, /Kiro pushed its changes/);
      assert.equal(
        repo().comments.some((x) => x.issueNumber === pr.number && /cancelled/.test(x.body)),
        false,
      );
    });
  });

  it("a cancel that arrives before the push starts wins: the job is cancelled and nothing of the agent's is on the branch", async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '400' }, async (w, c) => {
      const pr = await taskPr('Cancel early');
      const job = await c.submit(request(pr, 'Cancel early'));
      await c.waitFor(job.jobId, ['running']);
      // A human pushes while the agent works: its first push is refused, and before the second one it fetches.
      const head = await repo().bare.resolve(`refs/heads/${pr.branch}`);
      const human = await repo().bare.commit({
        parent: head,
        additions: [{ path: 'HUMAN.md', contents: 'mine\n' }],
        message: 'human edit',
        author: { name: 'alice', email: 'a@e' },
      });
      assert.ok(await repo().bare.updateRef(`refs/heads/${pr.branch}`, human, head ?? ''));
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let fetching = false;
      gh.beforeGit = async (g) => {
        if (g.service !== 'upload-pack') return;
        fetching = true;
        await gate;
      };
      await pollUntil(() => fetching, { timeoutMs: 20_000, what: 'the fetch after the refused push' });
      assert.equal(w.queue.jobs.get(job.jobId)?.state, 'pushing');
      const cancelling = w.queue.cancel(job.jobId);
      release();
      const answered = await cancelling;
      assert.equal(answered.state, 'cancelled');
      assert.equal(answered.commitSha, null);
      assert.equal(answered.error?.message, 'cancelled before its changes were pushed');
      assert.equal(await repo().bare.resolve(`refs/heads/${pr.branch}`), human, 'the branch is as the human left it');
      const comment = await commentOn(pr.number, /was cancelled/);
      assert.match(
        comment.body,
        /cancelled from VS Code or the worker API \(cancelled before its changes were pushed\)\. Nothing was pushed\./,
      );
      // The slot's tree held the unpushed commit; the next job on the slot starts clean from its own branch.
      const next = await taskPr('After cancel');
      const nextJob = await c.submit(request(next, 'After cancel'));
      const nextDone = await c.waitFor(nextJob.jobId, ['succeeded', 'failed', 'no-changes']);
      assert.equal(nextDone.state, 'succeeded', JSON.stringify(nextDone.error));
      assert.deepEqual(
        nextDone.changes?.files.map((f) => f.path),
        ['kiro/IMPLEMENTATION.md'],
      );
    });
  });
});

/** Closing the worker waits for every PR follow-up under way: after it, nothing more reaches GitHub. */
function settled(w: TestWorker): Promise<void> {
  return w.close();
}
