// The job's token budget (KIRO_JOB_MAX_TOKENS): the decision (worker-service/agent/
// usage.ts) and the run (worker-service/host/agentRun.ts) with a scripted agent in a
// real pty, printing the events Claude Code and Codex print. Past the budget, the
// agent is stopped and the run ends with BUDGET_EXCEEDED (the pool then fails the job
// and pushes nothing, as for any other limit broken); usage reported only at the end
// still fails it. An agent that reports no usage is never over.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { budgetExceeded } from '../../../worker-service/agent/usage.js';
import { loadConfig } from '../../../worker-service/config.js';
import { JobLog } from '../../../worker-service/jobs/log.js';
import { runAgent, type AgentRunResult } from '../../../worker-service/host/agentRun.js';
import { withTempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';

/**
 * The scripted agent. `replay <file>`: prints a recorded transcript, then waits (an agent still
 * at work). `endless`: a Claude Code message of 300 input tokens every 20 ms. `codex-end`: one
 * Codex turn of 2,000 + 100 tokens as its last line, then exits 0. Whatever the mode, it gives up after 15 s:
 * a budget that did not stop it shows as an agent that was not stopped, not as a hung test.
 */
const AGENT = `
import { readFileSync } from 'node:fs';
const [mode, file] = process.argv.slice(2);
const say = (e) => process.stdout.write(JSON.stringify(e) + '\\n');
setTimeout(() => process.exit(0), 15000);
if (mode === 'replay') process.stdout.write(readFileSync(file, 'utf8'));
if (mode === 'endless') {
  let n = 0;
  setInterval(() => say({ type: 'assistant', message: { id: 'msg_' + ++n, content: [{ type: 'text', text: 'step ' + n }], usage: { input_tokens: 300, output_tokens: 1 } } }), 20);
}
if (mode === 'codex-end') {
  say({ type: 'thread.started', thread_id: 't-1' });
  // Its last event without a newline: read only once the agent has exited.
  process.stdout.write(JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 2000, cached_input_tokens: 1500, output_tokens: 100 } }));
  process.exit(0);
}
`;

interface Run {
  result: AgentRunResult;
  lines: string[];
  announced: number;
}

async function run(preset: 'claude' | 'codex' | 'kiro', maxTokens: string | undefined, ...args: string[]): Promise<Run> {
  return withTempDir(async (dir) => {
    const script = join(dir, 'agent.mjs');
    await writeFile(script, AGENT);
    const config = loadConfig({
      KIRO_AGENT: preset,
      KIRO_AGENT_COMMAND: JSON.stringify([process.execPath, script, ...args]),
      KIRO_AGENT_KEY_VAR: 'none',
      KIRO_SANDBOX: 'off',
      KIRO_WORKER_STATE_DIR: dir,
      KIRO_KILL_GRACE_MS: '2000',
      ...(maxTokens ? { KIRO_JOB_MAX_TOKENS: maxTokens } : {}),
    });
    const log = new JobLog(join(dir, 'job.log'));
    let announced = 0;
    try {
      const result = await runAgent({
        jobId: 'job-budget',
        config,
        sandbox: undefined,
        argv: config.agentCommand,
        env: { PATH: process.env.PATH ?? '' },
        tree: dir,
        gitDirs: [],
        log,
        onSpawn: async () => undefined,
        onUsage: () => void announced++,
      });
      return { result, lines: log.lines(), announced };
    } finally {
      await log.close();
    }
  });
}

describe("the job's token budget (KIRO_JOB_MAX_TOKENS)", function () {
  describe('the decision', function () {
    it('counts input plus output, and only more than the budget is over it', function () {
      assert.equal(budgetExceeded({ inputTokens: 600, outputTokens: 400 }, 1000), null, 'exactly the budget is within it');
      const over = budgetExceeded({ inputTokens: 600, outputTokens: 401, costUsd: 0.1 }, 1000);
      assert.equal(over?.code, 'BUDGET_EXCEEDED');
      assert.equal(
        over?.message,
        "the agent reported 1,001 tokens (600 input + 401 output), over the job's budget of 1,000 tokens (KIRO_JOB_MAX_TOKENS)",
      );
      assert.equal(budgetExceeded({ inputTokens: 1001, outputTokens: 0 }, 1000)?.code, 'BUDGET_EXCEEDED', 'input alone can pass it');
      assert.equal(budgetExceeded({ inputTokens: 0, outputTokens: 1001 }, 1000)?.code, 'BUDGET_EXCEEDED', 'output alone can pass it');
    });

    it('no budget, or no usage reported, is never over', function () {
      assert.equal(budgetExceeded({ inputTokens: 1e9, outputTokens: 1e9 }, undefined), null);
      assert.equal(budgetExceeded(null, 1), null);
    });
  });

  describe('a run (a scripted agent in a pty, no sandbox)', function () {
    this.timeout(30_000);

    it("Claude Code's recorded transcript past a budget of 350: the agent, still at work, is stopped and the run ends BUDGET_EXCEEDED", async function () {
      const { result, lines } = await run('claude', '350', 'replay', join(repoRoot, 'test', 'fixtures', 'agents', 'claude-ok.txt'));
      assert.equal(result.exit.stoppedBy, 'limit');
      assert.equal(result.violation?.code, 'BUDGET_EXCEEDED');
      assert.match(result.violation?.message ?? '', /over the job's budget of 350 tokens \(KIRO_JOB_MAX_TOKENS\)$/);
      assert.ok(
        lines.some((l) => l.startsWith('[kiro-worker] stopped: the agent reported')),
        lines.join('\n'),
      );
      assert.ok(result.usage && result.usage.inputTokens + result.usage.outputTokens > 350);
    });

    it('an agent that keeps spending is stopped as soon as it passes the budget, not at its end', async function () {
      const { result, announced } = await run('claude', '1000', 'endless');
      assert.equal(result.exit.stoppedBy, 'limit');
      assert.equal(result.violation?.code, 'BUDGET_EXCEEDED');
      // Passed at its 4th message (1,204 tokens); a few more may come before SIGTERM lands, not the hundreds of 15 s.
      assert.ok(result.usage && result.usage.inputTokens >= 1200 && result.usage.inputTokens < 6000, JSON.stringify(result.usage));
      assert.ok(announced >= 4);
    });

    it("usage read only after the agent exited 0 (Codex's last turn.completed): past the budget, the run still ends BUDGET_EXCEEDED", async function () {
      const { result } = await run('codex', '2000', 'codex-end');
      assert.equal(result.exit.exitCode, 0);
      assert.equal(result.exit.stoppedBy, null, 'it had already exited');
      assert.equal(result.violation?.code, 'BUDGET_EXCEEDED');
      assert.match(result.violation?.message ?? '', /2,100 tokens \(2,000 input \+ 100 output\)/);
      assert.deepEqual(result.usage, { inputTokens: 2000, outputTokens: 100 });
    });

    it('within the budget, or without one, the run is not stopped and its usage is kept', async function () {
      for (const budget of ['2100', undefined]) {
        const { result } = await run('codex', budget, 'codex-end');
        assert.equal(result.violation, null, `budget ${budget}`);
        assert.equal(result.exit.exitCode, 0);
        assert.deepEqual(result.usage, { inputTokens: 2000, outputTokens: 100 });
      }
    });

    it('a plain-text agent printing the same events reports no usage, and a budget never stops it', async function () {
      const { result, announced } = await run('kiro', '1', 'codex-end');
      assert.equal(result.violation, null);
      assert.equal(result.usage, null);
      assert.equal(announced, 0);
    });
  });
});
