// The @kiro chat participant and the language-model tools in the real extension host: registered,
// and kiro_delegate / kiro_status invoked as an agent would (vscode.lm.invokeTool) against the GitHub
// stand-in and the worker that test/e2e/host.e2e.ts started (tokens set through the palette first).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type Mocha from 'mocha';
import { pollUntil } from '../../support/helpers.js';

const TOOLS = ['kiro_delegate', 'kiro_status', 'kiro_follow_up'];

function resultJson(r: vscode.LanguageModelToolResult): unknown {
  const text = r.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${text}`);
  }
}

export function chatTests(g: { describe: Mocha.SuiteFunction; it: Mocha.TestFunction }): void {
  g.describe('chat participant and language-model tools', function () {
    g.it("registers the three tools (vscode.lm.tools) and the participant's commands", async function () {
      await pollUntil(() => TOOLS.every((t) => vscode.lm.tools.some((x) => x.name === t)), {
        timeoutMs: 10_000,
        what: `tools ${TOOLS.join(', ')} in vscode.lm.tools (have: ${vscode.lm.tools.map((t) => t.name).join(', ')})`,
      });
      const delegateTool = vscode.lm.tools.find((t) => t.name === 'kiro_delegate');
      assert.deepEqual((delegateTool?.inputSchema as { required?: string[] } | undefined)?.required, ['title', 'objective']);
      const commands = new Set(await vscode.commands.getCommands(true));
      assert.ok(
        commands.has('kiroDelegate.chatSubmit') && commands.has('kiroDelegate.chatEdit'),
        "the chat answer's buttons have their commands",
      );
    });

    g.it(
      'kiro_delegate (invoked without a chat request) opens a PR and sends the job; kiro_status reports it; kiro_follow_up sends a second round',
      async function () {
        this.timeout(60_000);
        const input = { title: 'Add a health endpoint', objective: 'Serve GET /health with 200.', acceptanceCriteria: ['It answers 200'] };
        const result = resultJson(await vscode.lm.invokeTool('kiro_delegate', { input, toolInvocationToken: undefined })) as {
          prUrl: string;
          prNumber: number;
          branch: string;
          state: string;
          jobId?: string;
          repository: string;
        };
        assert.equal(result.repository, 'alice/app');
        assert.match(result.prUrl, /\/alice\/app\/pull\/\d+$/);
        assert.ok(result.jobId, `the worker accepted the job: ${JSON.stringify(result)}`);
        // host.e2e.ts checks the PR in the stand-in from this line.
        console.log(`KIRO_TOOL_PR ${JSON.stringify({ prNumber: result.prNumber, branch: result.branch })}`);
        let status: { prNumber: number; state: string; jobId?: string }[] = [];
        await pollUntil(
          async () => {
            status = resultJson(await vscode.lm.invokeTool('kiro_status', { input: {}, toolInvocationToken: undefined })) as typeof status;
            return status.some((s) => s.prNumber === result.prNumber && s.state === 'pushed');
          },
          { timeoutMs: 45_000, what: `kiro_status to report PR #${result.prNumber} pushed (last: ${JSON.stringify(status)})` },
        );
        assert.equal(status.find((s) => s.prNumber === result.prNumber)?.jobId, result.jobId);

        // A follow-up on that PR, as an agent would send it: a second round, a new job, and it pushes too.
        const round = resultJson(
          await vscode.lm.invokeTool('kiro_follow_up', {
            input: { prNumber: result.prNumber, instructions: 'Also answer HEAD /health.' },
            toolInvocationToken: undefined,
          }),
        ) as { prNumber: number; round: number; jobId?: string };
        assert.equal(round.prNumber, result.prNumber);
        assert.equal(round.round, 2, 'the second round');
        assert.ok(round.jobId && round.jobId !== result.jobId, `a new job: ${JSON.stringify(round)}`);
        await pollUntil(
          async () => {
            status = resultJson(await vscode.lm.invokeTool('kiro_status', { input: {}, toolInvocationToken: undefined })) as typeof status;
            const mine = status.find((s) => s.prNumber === result.prNumber);
            return mine?.jobId === round.jobId && mine?.state === 'pushed';
          },
          {
            timeoutMs: 45_000,
            what: `kiro_status to report the follow-up on PR #${result.prNumber} pushed (last: ${JSON.stringify(status)})`,
          },
        );
        const unknown = await vscode.lm.invokeTool('kiro_follow_up', {
          input: { prNumber: 99999, instructions: 'x' },
          toolInvocationToken: undefined,
        });
        assert.match(
          unknown.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join(''),
          /No delegation is on PR #99999/,
        );
      },
    );

    g.it("kiro_delegate refuses an input without a title, with the form's reason, and opens nothing", async function () {
      const r = await vscode.lm.invokeTool('kiro_delegate', { input: { objective: 'x' }, toolInvocationToken: undefined });
      const text = r.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
      assert.match(text, /title: Give the task a title/);
    });
  });
}
