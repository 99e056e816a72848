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
import { openBrowser, screenshot } from './support/browser.js';

describe('mocha suite inside the real extension host', function () {
  this.timeout(180_000);
  let gh: GitHubStandIn;
  let cs: CodeServer;

  after(async function () {
    await cs?.stop().catch(() => undefined);
    await gh?.close().catch(() => undefined);
  });

  it('passes every host test', async function () {
    gh = await GitHubStandIn.start();
    const alice = gh.addUser('alice');
    await gh.createRepo('alice', 'app');
    const workspace = join(await tempDir(), 'app');
    await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, workspace], alice.token);
    cs = await startCodeServer({ workspace, settings: {}, extraArgs: ['--vscode-option', 'enable-smoke-test-driver'] });
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
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(repoRoot.replace(/\/$/, ''))], ['extensionTestsPath', remote(join(repoRoot, 'dist', 'test', 'host-suite.cjs'))]]);
    try {
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
      await pollUntil(() => exitCode !== undefined, { timeoutMs: 150_000, what: 'the host suite to finish' });
      await screenshot(page, 'host-suite-done');
    } finally {
      await context.close();
    }
    const output = lines.join('\n');
    console.log(output.split('\n').filter((l) => /✔|passing|failing|\d\)|Error/.test(l)).map((l) => `      [host] ${l}`).join('\n'));
    assert.equal(exitCode, 0, output);
    // Every test of test/e2e/host/suite.ts, and none failing.
    assert.match(output, /\b11 passing/);
    assert.doesNotMatch(output, /failing/);
  });
});
