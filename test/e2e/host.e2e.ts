// Runs test/e2e/host/suite.ts inside code-server's real Node extension host with
// the extension loaded from this folder (extensionDevelopmentPath), as
// @vscode/test-electron does with a desktop VS Code. The suite's output and exit
// code come back through the smoke-test driver's automation hooks.
import assert from 'node:assert/strict';
import { format } from 'node:util';
import { join } from 'node:path';
import { GitHubStandIn } from '../support/github/server.js';
import { gitWithToken, pollUntil, tempDir } from '../support/helpers.js';
import { repoRoot } from '../support/paths.js';
import { startCodeServer, type CodeServer } from './support/codeServer.js';
import { answerInputBox, openBrowser, runCommand, screenshot } from './support/browser.js';
import { startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../support/worker.js';

describe('mocha suite inside the real extension host', function () {
  this.timeout(180_000);
  let gh: GitHubStandIn;
  let cs: CodeServer;
  let worker: TestWorker | undefined;

  after(async function () {
    await cs?.stop().catch(() => undefined);
    await worker?.close().catch(() => undefined);
    await gh?.close().catch(() => undefined);
  });

  it('passes every host test', async function () {
    gh = await GitHubStandIn.start();
    const alice = gh.addUser('alice');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    // The worker the chat tools' tests send a job to (test/e2e/host/chat.ts).
    worker = await startWorker(workerEnv(gh, bot.token, await tempDir()), { agentEnv: { FAKE_KIRO_STEP_MS: '100' } });
    const workspace = join(await tempDir(), 'app');
    await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, workspace], alice.token);
    const settings = {
      'kiroDelegate.workerUrl': worker.url,
      'kiroDelegate.githubEnterpriseUrl': gh.origin,
      'kiroDelegate.pollIntervalSeconds': 2,
      'chat.disableAIFeatures': false,
    };
    cs = await startCodeServer({ workspace, settings, extraArgs: ['--vscode-option', 'enable-smoke-test-driver'] });
    const { context, page } = await openBrowser();
    const lines: string[] = [];
    let exitCode: number | undefined;
    await page.exposeFunction('codeAutomationLog', (_type: string, args: unknown[]) => {
      // The host's console calls arrive as (format, ...values), as console.log takes them.
      lines.push(format(...(Array.isArray(args) ? args : [args])));
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      exitCode = code;
    });
    const remote = (p: string) => `vscode-remote://127.0.0.1:${cs.port}${p}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(repoRoot.replace(/\/$/, ''))],
      ['extensionTestsPath', remote(join(repoRoot, 'dist', 'test', 'host-suite.cjs'))],
    ]);
    const devOnly = JSON.stringify([['extensionDevelopmentPath', remote(repoRoot.replace(/\/$/, ''))]]);
    try {
      // Tokens first, as a user of an editor without GitHub sign-in sets them (kept in the secret storage the suite's run then reads).
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(devOnly)}`);
      await page.locator('.statusbar-item', { hasText: 'Kiro' }).first().waitFor({ timeout: 90_000 });
      await runCommand(page, 'Kiro: Set GitHub Token');
      await answerInputBox(page, alice.token);
      await runCommand(page, 'Kiro: Set Worker Token');
      await answerInputBox(page, WORKER_TOKEN);
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
      await pollUntil(() => exitCode !== undefined, { timeoutMs: 150_000, what: 'the host suite to finish' });
      await screenshot(page, 'host-suite-done');
    } finally {
      await context.close();
    }
    const output = lines.join('\n');
    console.log(
      output
        .split('\n')
        .filter((l) => /✔|passing|failing|\d\)|Error/.test(l))
        .map((l) => `      [host] ${l}`)
        .join('\n'),
    );
    assert.equal(exitCode, 0, output);
    // Every test of test/e2e/host/suite.ts, and none failing.
    assert.match(output, /\b14 passing/);
    assert.doesNotMatch(output, /failing/);
    // kiro_delegate's PR, in the stand-in: on the branch it named, with TASK.md.
    const made = /KIRO_TOOL_PR (\{.*\})/.exec(output);
    assert.ok(made, 'the tool test printed its PR');
    const { prNumber, branch } = JSON.parse(made[1]!) as { prNumber: number; branch: string };
    const pr = gh.model.repo('alice', 'app')?.pulls.find((p) => p.number === prNumber);
    assert.equal(pr?.title, 'Add a health endpoint');
    assert.equal(pr?.head, branch);
  });
});
