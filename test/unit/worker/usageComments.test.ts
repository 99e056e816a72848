// What a job's PR comment says of the agent's usage (worker-service/github/comments.ts):
// the tokens and cost it reported, or that it reports none, and for a job its token
// budget stopped, that the budget stopped it and nothing was pushed. Pure functions.
import assert from 'node:assert/strict';
import { commentBody, summaryBody, usageLine } from '../../../worker-service/github/comments.js';
import type { Job } from '../../../worker-service/jobs/job.js';

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    scopeKey: 'x',
    state: 'succeeded',
    attempts: 1,
    slotId: 0,
    request: {
      owner: 'alice',
      repo: 'app',
      branch: 'kiro/add-login-1',
      prNumber: 7,
      baseBranch: 'main',
      title: 'Add login',
      taskDescription: '# Add login\n',
      idempotencyKey: 'PR1',
    },
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: '2025-01-01T10:00:00.000Z',
    finishedAt: '2025-01-01T10:03:05.000Z',
    exitCode: 0,
    signal: null,
    commitSha: '0123456789abcdef0123456789abcdef01234567',
    error: null,
    outputTail: ['Done.'],
    changes: { files: [{ path: 'src/login.ts', added: 40, removed: 2 }], filesChanged: 1, added: 40, removed: 2 },
    ...over,
  };
}

const budgetError = {
  code: 'BUDGET_EXCEEDED',
  message: "the agent reported 14,690 tokens (12,345 input + 2,345 output), over the job's budget of 10,000 tokens (KIRO_JOB_MAX_TOKENS)",
};

describe("PR comments: the agent's usage", function () {
  it('after a push: the tokens it reported and their cost, after the diffstat and before its last lines', function () {
    const body = summaryBody(job({ usage: { inputTokens: 12345, outputTokens: 2345, costUsd: 0.04 } }));
    const lines = body.split('\n');
    const at = lines.indexOf('Usage: 12,345 input / 2,345 output tokens · $0.04');
    assert.ok(at > 0, body);
    assert.ok(at > lines.lastIndexOf(' 1 file changed, 40 insertions(+), 2 deletions(-)'), 'after the diffstat');
    assert.ok(at < lines.findIndex((l) => l.startsWith('<details>')), 'before the last lines');
    assert.doesNotMatch(body, /\n\n\n/);
  });

  it('a cost only where the agent reported one (Codex, Gemini CLI report none)', function () {
    assert.equal(usageLine(job({ usage: { inputTokens: 400, outputTokens: 80 } })), 'Usage: 400 input / 80 output tokens');
    assert.equal(
      usageLine(job({ usage: { inputTokens: 400, outputTokens: 80, costUsd: 0.0032 } })),
      'Usage: 400 input / 80 output tokens · < $0.01',
    );
  });

  it('an agent that ran and reported nothing (plain text): "not reported", never a zero', function () {
    for (const usage of [undefined, null]) {
      const j = job({ usage });
      assert.equal(usageLine(j), 'Usage: not reported by this agent');
      assert.ok(summaryBody(j).includes('\nUsage: not reported by this agent\n'));
      assert.doesNotMatch(summaryBody(j), /Usage: 0 /);
    }
    const killed = job({
      state: 'failed',
      exitCode: -1,
      signal: '9',
      commitSha: null,
      changes: null,
      error: { code: 'AGENT_CRASHED', message: 'the agent was killed by signal 9' },
    });
    assert.match(commentBody(killed), /^Usage: not reported by this agent$/m);
  });

  it('a job whose agent never ran says nothing of usage', function () {
    const queued = job({
      state: 'cancelled',
      attempts: 0,
      startedAt: null,
      exitCode: null,
      commitSha: null,
      changes: null,
      error: { code: 'CANCELLED', message: 'cancelled before it started' },
      outputTail: [],
    });
    assert.doesNotMatch(commentBody(queued), /Usage/);
    const checkout = job({
      state: 'failed',
      exitCode: null,
      commitSha: null,
      changes: null,
      error: { code: 'CHECKOUT_FAILED', message: 'could not check out' },
      outputTail: [],
    });
    assert.doesNotMatch(commentBody(checkout), /Usage/);
  });

  it('a failure or a cancel still says what was spent', function () {
    const failed = commentBody(
      job({
        state: 'failed',
        exitCode: 1,
        commitSha: null,
        changes: null,
        error: { code: 'AGENT_FAILED', message: 'the agent exited with code 1' },
        usage: { inputTokens: 900, outputTokens: 90, costUsd: 0.02 },
      }),
    );
    assert.match(failed, /^### Kiro could not complete this task$/m);
    assert.match(failed, /^Usage: 900 input \/ 90 output tokens · \$0\.02$/m);
    const cancelled = commentBody(
      job({
        state: 'cancelled',
        exitCode: 143,
        commitSha: null,
        changes: null,
        error: { code: 'CANCELLED', message: 'cancelled while the agent was running' },
        usage: { inputTokens: 5, outputTokens: 1 },
      }),
    );
    assert.match(cancelled, /^Usage: 5 input \/ 1 output tokens$/m);
  });

  it('BUDGET_EXCEEDED: the budget stopped it, with the budget and the usage; nothing was pushed', function () {
    const body = commentBody(
      job({
        state: 'failed',
        exitCode: 143,
        commitSha: null,
        changes: null,
        error: budgetError,
        usage: { inputTokens: 12345, outputTokens: 2345, costUsd: 0.04 },
      }),
    );
    assert.match(body, /^### Kiro's token budget stopped this task$/m);
    assert.ok(body.includes(`The job's token budget stopped it: ${budgetError.message} (\`BUDGET_EXCEEDED\`). Nothing was pushed.`), body);
    assert.match(body, /^Usage: 12,345 input \/ 2,345 output tokens · \$0\.04$/m);
    assert.doesNotMatch(body, /\*\*Reason:\*\*/, 'said once, in words, not as a generic failure');
    // Only a failed job's error code reads so: any other stays as it was.
    assert.match(
      commentBody(job({ state: 'failed', exitCode: 1, commitSha: null, changes: null, error: { code: 'AGENT_FAILED', message: 'x' } })),
      /^### Kiro could not complete this task$/m,
    );
  });
});
