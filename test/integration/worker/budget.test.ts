// Usage and token budgets on the real worker and sandbox: the scripted agent replays what
// the real Claude Code and Codex CLIs printed (test/fixtures/agents/), read through their
// presets' parsers. Over KIRO_JOB_MAX_TOKENS → BUDGET_EXCEEDED, nothing pushed, the PR
// comment says why; within it → the usage on the job and in the comment.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

describe("usage and token budgets (the real CLIs' transcripts through the real worker)", function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let botToken: string;
  before(async () => {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => gh?.close());

  async function run(preset: 'claude' | 'codex', budget: string, branch: string) {
    const w: TestWorker = await startWorker(
      workerEnv(gh, botToken, await tempDir(), {
        KIRO_AGENT: preset,
        KIRO_AGENT_KEY_VAR: 'none',
        KIRO_JOB_MAX_TOKENS: budget,
        KIRO_AGENT_ENV_ALLOW: 'FAKE_KIRO_SCENARIO,FAKE_KIRO_STEP_MS,FAKE_KIRO_REPLAY',
      }),
      {
        agentEnv: {
          FAKE_KIRO_SCENARIO: 'replay',
          FAKE_KIRO_STEP_MS: '1',
          FAKE_KIRO_REPLAY: join(repoRoot, 'test', 'fixtures', 'agents', `${preset}-ok.txt`),
        },
      },
    );
    try {
      const repo = gh.model.repo('alice', 'app')!;
      const pr = await makeTaskPr(gh, 'alice', 'app', branch, branch);
      const head = await repo.bare.resolve(`refs/heads/${branch}`);
      const c = new WorkerClient(w.url);
      const { jobId } = await c.submit(jobRequest('alice', 'app', branch, pr.number, branch));
      const done = await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes']);
      const comment = await pollUntil(() => repo.comments.find((x) => x.issueNumber === pr.number), { what: 'the PR comment' });
      return { done, comment: comment.body, pushed: (await repo.bare.resolve(`refs/heads/${branch}`)) !== head };
    } finally {
      await w.close();
    }
  }

  for (const preset of ['claude', 'codex'] as const) {
    it(`${preset}: past KIRO_JOB_MAX_TOKENS the job ends BUDGET_EXCEEDED with its usage, nothing pushed, and the PR comment says the budget stopped it`, async function () {
      const { done, comment, pushed } = await run(preset, '300', `budget-${preset}`);
      assert.equal(done.state, 'failed');
      assert.equal(done.error?.code, 'BUDGET_EXCEEDED', JSON.stringify(done.error));
      assert.match(done.error?.message ?? '', /budget of 300 tokens/);
      assert.ok(done.usage && done.usage.inputTokens + done.usage.outputTokens > 300, JSON.stringify(done.usage));
      assert.equal(pushed, false, 'nothing pushed');
      assert.match(comment, /token budget stopped/i);
    });

    it(`${preset}: within the budget the job succeeds and reports the usage the CLI reported (the job, the PR comment)`, async function () {
      const { done, comment, pushed } = await run(preset, '100000', `usage-${preset}`);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      assert.deepEqual([done.usage?.inputTokens, done.usage?.outputTokens], [400, 80]);
      assert.equal(pushed, true);
      assert.match(comment, /Usage: 400 input \/ 80 output tokens/);
    });
  }

  it("KIRO_USER_DAILY_TOKENS: once a user's jobs reported that many tokens today, their next job is refused (429, when it resets); another user is not", async function () {
    const bob = gh.addUser('bob-daily');
    gh.grant('alice', 'app', 'bob-daily', 'WRITE');
    const alice = gh.model.users.get('alice')!;
    const w = await startWorker(
      workerEnv(gh, botToken, await tempDir(), {
        KIRO_AGENT: 'claude',
        KIRO_AGENT_KEY_VAR: 'none',
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: 'x'.repeat(40),
        KIRO_USER_DAILY_TOKENS: '400',
        KIRO_AGENT_ENV_ALLOW: 'FAKE_KIRO_SCENARIO,FAKE_KIRO_STEP_MS,FAKE_KIRO_REPLAY',
      }),
      {
        agentEnv: {
          FAKE_KIRO_SCENARIO: 'replay',
          FAKE_KIRO_STEP_MS: '1',
          FAKE_KIRO_REPLAY: join(repoRoot, 'test', 'fixtures', 'agents', 'claude-ok.txt'),
        },
      },
    );
    try {
      const signIn = async (token: string) =>
        new WorkerClient(
          w.url,
          ((await (await new WorkerClient(w.url, null).request('POST', '/auth/github', { token })).json()) as { token: string }).token,
        );
      const [a, b] = [await signIn(alice.token), await signIn(bob.token)];
      const submit = async (c: WorkerClient, branch: string) =>
        c.request(
          'POST',
          '/generate-code',
          jobRequest('alice', 'app', branch, (await makeTaskPr(gh, 'alice', 'app', branch, branch)).number, branch),
        );
      const first = (await (await submit(a, 'daily-1')).json()) as { jobId: string };
      assert.deepEqual((await a.waitFor(first.jobId, ['succeeded', 'failed'])).usage?.inputTokens, 400);
      const second = await submit(a, 'daily-2');
      assert.equal(second.status, 429);
      const retry = Number(second.headers.get('retry-after'));
      assert.ok(retry > 0 && retry <= 86_400, String(retry));
      const body = (await second.json()) as { code: string; message: string };
      assert.equal(body.code, 'QUOTA_EXCEEDED');
      assert.match(body.message, /480 tokens today.*400.*resets at midnight UTC/);
      assert.equal((await submit(b, 'daily-3')).status, 202, 'bob has his own budget');
    } finally {
      await w.close();
    }
  });

  it('a plain-text agent reports no usage: none on the job, "not reported" in the comment, never a zero', async function () {
    const w = await startWorker(workerEnv(gh, botToken, await tempDir()), { agentEnv: { FAKE_KIRO_STEP_MS: '1' } });
    try {
      const repo = gh.model.repo('alice', 'app')!;
      const pr = await makeTaskPr(gh, 'alice', 'app', 'usage-plain', 'plain');
      const c = new WorkerClient(w.url);
      const { jobId } = await c.submit(jobRequest('alice', 'app', 'usage-plain', pr.number, 'plain'));
      const done = await c.waitFor(jobId, ['succeeded', 'failed']);
      assert.equal(done.usage, undefined);
      const comment = await pollUntil(() => repo.comments.find((x) => x.issueNumber === pr.number), { what: 'the PR comment' });
      assert.match(comment.body, /Usage: not reported by this agent/);
    } finally {
      await w.close();
    }
  });
});
