// Mocha inside VS Code's real extension host (what @vscode/test-electron runs):
// the contributions, commands and the glue modules against the real vscode API.
// Bundled to dist/test/host-suite.cjs; run by test/e2e/host.e2e.ts through
// code-server's smoke-test driver, or by @vscode/test-electron where a desktop
// VS Code can be downloaded (extensionTestsPath = dist/test/host-suite.cjs).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import Mocha from 'mocha';
import { workspaceRepo, changeWarnings } from '../../../extension/git/vscodeGit.js';
import { resolveGitHubToken } from '../../../extension/auth/githubToken.js';

const EXTENSION_ID = 'kiro-delegate.kiro-delegate';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: 'spec' });
  // Defines describe/it/before on globalThis, as the mocha CLI does.
  mocha.suite.emit('pre-require', globalThis, 'host-suite', mocha);
  const g = globalThis as unknown as { describe: Mocha.SuiteFunction; it: Mocha.TestFunction; before: Mocha.HookFunction };

  g.describe('in the real extension host', function () {
    g.before(async function () {
      await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    });

    g.it('activates and registers every contributed command', async function () {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext?.isActive, 'the extension is active');
      const contributed = (ext.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(contributed.filter((c) => !registered.has(c)), []);
      assert.ok(contributed.length >= 10);
    });

    g.it('reads its settings with their defaults', function () {
      const c = vscode.workspace.getConfiguration('kiroDelegate');
      assert.equal(c.get('branchPrefix'), 'kiro/');
      assert.equal(c.get('draftPullRequests'), false);
      assert.equal(typeof c.get('workerUrl'), 'string');
    });

    g.it('reads owner, repo and branch from the workspace through the built-in git extension', async function () {
      const info = await workspaceRepo();
      assert.equal(info.remote?.owner, 'alice');
      assert.equal(info.remote?.repo, 'app');
      assert.equal(info.branch, 'main');
    });

    g.it('warns about unsaved changes in the delegated file', async function () {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      assert.ok(folder);
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'README.md'));
      const editor = await vscode.window.showTextDocument(doc);
      await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'unsaved '));
      const warnings = changeWarnings(await workspaceRepo(doc.uri), doc, 'main');
      assert.ok(warnings.some((w) => /README\.md has unsaved changes/.test(w)), warnings.join(' | '));
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });

    g.it('opens the delegation form as a webview panel from the command', async function () {
      await vscode.commands.executeCommand('kiroDelegate.delegateTask');
      const deadline = Date.now() + 10_000;
      let found = false;
      while (!found && Date.now() < deadline) {
        found = vscode.window.tabGroups.all.some((g2) => g2.tabs.some((t) => t.label === 'Kiro: Delegate Task' && t.input instanceof vscode.TabInputWebview));
        if (!found) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(found, 'a "Kiro: Delegate Task" webview tab');
    });

    g.it('finds no GitHub sign-in provider in this editor build, so the pasted-token fallback is needed', async function () {
      const result = await resolveGitHubToken({
        getSession: (opts) => Promise.resolve(vscode.authentication.getSession('github', ['repo'], opts)),
        storedToken: async () => undefined,
        timeoutMs: 8_000,
      }, true);
      // code-server has no 'github' provider: a sign-in request waits for one that never registers.
      assert.deepEqual(result, { kind: 'none', reason: 'no-provider' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} host test(s) failed`)) : resolve()));
  });
}
