// The product where it runs: a real VS Code workbench (code-server) with the built
// VSIX installed, the real worker service, the GitHub stand-in and the scripted
// agent, all on loopback, clicked through in headless chromium as a person would.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { GitHubStandIn } from '../support/github/server.js';
import { gitWithToken, pollUntil, tempDir, authHeader } from '../support/helpers.js';
import { repoRoot } from '../support/paths.js';
import { startWorker, workerEnv, WORKER_TOKEN, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../support/worker.js';
import { startRedis } from '../../scripts/support/redis.js';
import { stopChild } from '../../scripts/support/lifecycle.js';
import { parseTaskMarkdown } from '../../shared/taskMarkdown.js';
import { runGit } from '../../worker-service/git/run.js';
import { startCodeServer, freePort, type CodeServer } from './support/codeServer.js';
import {
  openBrowser,
  screenshot,
  runCommand,
  answerInputBox,
  formFrame,
  toast,
  revealRow,
  reloadWindow,
  SHOTS,
} from './support/browser.js';
import { mkdir } from 'node:fs/promises';

describe('end to end in a real VS Code (code-server + chromium)', function () {
  this.timeout(120_000);
  let gh: GitHubStandIn;
  let alice: { token: string };
  let bot: { token: string };
  let worker: TestWorker | undefined;
  let workerPort: number;
  let workerState: string;
  let cs: CodeServer;
  let browser: { context: BrowserContext; page: Page };
  let workspace: string;
  let page: Page;
  let vsix: string;

  const startTheWorker = async (extra: Record<string, string> = {}) => {
    worker = await startWorker(workerEnv(gh, bot.token, workerState, extra), { port: workerPort, agentEnv: { FAKE_KIRO_STEP_MS: '300' } });
  };
  const stopTheWorker = async () => {
    await worker?.close();
    worker = undefined;
  };
  const repo = () => {
    const r = gh.model.repo('alice', 'app');
    if (!r) throw new Error('no repo');
    return r;
  };

  before(async function () {
    this.timeout(300_000);
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', {
      files: [
        { path: 'README.md', contents: '# app\n' },
        {
          path: 'src/login.ts',
          contents: 'export function login(email: string, password: string) {\n  // TODO: check the password\n  return true;\n}\n',
        },
      ],
    });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    workerPort = await freePort();
    workerState = await tempDir();
    await startTheWorker();

    const dir = await tempDir();
    workspace = join(dir, 'app');
    await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, workspace], alice.token);
    // The test workspace's own git config carries the token so "Check Out Branch" can fetch.
    await runGit(['config', 'http.extraHeader', authHeader(alice.token)], { cwd: workspace });
    await runGit(['config', 'user.name', 'alice'], { cwd: workspace });
    await runGit(['config', 'user.email', 'alice@example.com'], { cwd: workspace });

    vsix = join(await tempDir(), 'kiro-delegate.vsix');
    execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    cs = await startCodeServer({
      workspace,
      vsix,
      settings: {
        'kiroDelegate.workerUrl': `http://127.0.0.1:${workerPort}`,
        'kiroDelegate.githubEnterpriseUrl': gh.origin,
        'kiroDelegate.pollIntervalSeconds': 2,
        'kiroDelegate.healthIntervalSeconds': 2,
        // The DOM renderer: the agent terminal's text is in the page, where a test can read it.
        'terminal.integrated.gpuAcceleration': 'off',
      },
    });
    browser = await openBrowser();
    page = browser.page;
    await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.statusbar-item', { hasText: 'Kiro' }).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'workbench-ready');
    // Tokens, as a user of an editor without GitHub sign-in sets them.
    await runCommand(page, 'Kiro: Set GitHub Token');
    await answerInputBox(page, alice.token);
    await runCommand(page, 'Kiro: Set Worker Token');
    await answerInputBox(page, WORKER_TOKEN);
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.context.close().catch(() => undefined);
    await cs?.stop().catch(() => undefined);
    await stopTheWorker().catch(() => undefined);
    await gh?.close().catch(() => undefined);
  });

  /** Opens the form (a fresh one if it shows a past result) and fills title and objective. */
  async function freshForm(p: Page, title: string, objective: string) {
    await runCommand(p, 'Kiro: Delegate Task');
    const f = formFrame(p);
    await f
      .locator('vscode-button', { hasText: 'Delegate another task' })
      .click({ timeout: 3000 })
      .catch(() => undefined);
    await f.locator('#f-title input').fill(title);
    await f.locator('#f-objective textarea').fill(objective);
    return f;
  }

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    await screenshot(page, `FAILED-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
    // Close whatever menu or picker the failed test left open, so the next test starts clean.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
  });

  it("1-2. palette → form prefilled → submit → PR link and code; the agent's commit lands → notification → Check Out Branch", async function () {
    await runCommand(page, 'Kiro: Delegate Task');
    const form = formFrame(page);
    await form.locator('#f-owner').waitFor();
    await pollUntil(async () => (await form.locator('#f-owner input').inputValue()) === 'alice', {
      timeoutMs: 20_000,
      what: 'owner prefilled',
    });
    assert.equal(await form.locator('#f-repo input').inputValue(), 'app');
    assert.equal(await form.locator('#f-baseBranch input').inputValue(), 'main');
    await screenshot(page, 'form-prefilled');

    // Validation errors show next to their fields.
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    await form.locator('#f-title-error', { hasText: 'Give the task a title' }).waitFor();
    await form.locator('#f-objective-error', { hasText: 'Describe what the agent' }).waitFor();
    await screenshot(page, 'form-validation');

    await form.locator('#f-title input').fill('Add a logout button');
    await form.locator('#f-objective textarea').fill('Users can log out from the header.');
    await form.locator('#f-constraints textarea').fill('No new dependencies\nKeep it accessible');
    await form.locator('#f-acceptanceCriteria textarea').fill('The button clears the session');
    assert.equal(await form.locator('#f-prTitle input').inputValue(), 'Add a logout button', 'PR title follows the task title');
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    const result = form.locator('.result');
    await result.waitFor({ timeout: 30_000 });
    const text = await result.innerText();
    await screenshot(page, 'form-submitted');
    // The done state is at the top of the form, seen without scrolling (the page is 900 px high).
    const box = await result.boundingBox();
    assert.ok(box && box.y + box.height < 900, `the result is on screen: ${JSON.stringify(box)}`);
    await form.locator('vscode-button', { hasText: 'Delegate another task' }).waitFor();
    const number = Number(/Pull request #(\d+)/.exec(text)?.[1]);
    const branch = /Branch: (\S+)/.exec(text)?.[1] ?? '';
    assert.match(text, /Confirmation code: PR\d{13}/);
    assert.match(branch, /^kiro\/add-a-logout-button-\d{13}$/);
    const pr = repo().pulls.find((p) => p.number === number);
    assert.deepEqual([pr?.base, pr?.head, pr?.title], ['main', branch, 'Add a logout button']);
    const task = parseTaskMarkdown((await repo().bare.readFile(`refs/heads/${branch}`, 'TASK.md')) ?? '');
    assert.equal(task.objective, 'Users can log out from the header.');
    assert.deepEqual(task.constraints, ['No new dependencies', 'Keep it accessible']);

    const pushed = toast(page, `Kiro pushed code to PR #${number}`);
    await pushed.waitFor({ timeout: 60_000 });
    await screenshot(page, 'pushed-notification');
    await pushed.locator('.monaco-button', { hasText: 'Check Out Branch' }).click();
    await pollUntil(async () => (await runGit(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: workspace })).trim() === branch, {
      timeoutMs: 30_000,
      what: `the workspace to be on ${branch}`,
    });
    assert.match((await runGit(['log', '-1', '--format=%s %an'], { cwd: workspace })).trim(), /^feat: Add a logout button Kiro Agent$/);
    await runGit(['checkout', '--quiet', 'main'], { cwd: workspace });
  });

  it('3. select lines → right-click → Delegate Selection to Kiro → form shows file, lines and code → TASK.md has them fenced', async function () {
    const explorer = page.locator('.explorer-folders-view');
    // The previous scenario's checkouts make the explorer refresh, which can fold `src` again or
    // swallow a click that lands mid-refresh (seen in CI): click through it until the file is open.
    const srcRow = explorer.locator('.monaco-list-row', { hasText: /^src$/ });
    const fileRow = explorer.locator('.monaco-list-row', { hasText: 'login.ts' });
    const tab = page.locator('.tab', { hasText: 'login.ts' });
    await pollUntil(
      async () => {
        if (await tab.isVisible()) return true;
        if (!(await fileRow.isVisible())) await srcRow.click({ timeout: 2_000 }).catch(() => undefined);
        else await fileRow.click({ timeout: 2_000 }).catch(() => undefined);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'src/login.ts open in an editor' },
    );
    const editor = page.locator('.monaco-editor .view-lines').first();
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+End');
    await editor.click({ button: 'right', position: { x: 40, y: 10 } });
    // VS Code shows no category in context menus: the menu-only command carries "to Kiro" in its title.
    const item = page.getByRole('menuitem', { name: 'Delegate Selection to Kiro' });
    await item.waitFor();
    const form = formFrame(page);
    // A click that lands while the menu is still opening is dropped (seen under load): click until the form shows the selection.
    await pollUntil(
      async () => {
        if (await item.isVisible()) {
          await item.hover();
          await item.click({ timeout: 2_000 }).catch(() => undefined);
        }
        return form.locator('.selection').isVisible();
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the form with the selection' },
    );
    assert.match(await form.locator('body').innerText(), /Selection: src\/login\.ts \(lines 1-3\)/);
    assert.match(await form.locator('.selection').innerText(), /check the password/);
    await screenshot(page, 'selection-form');
    await form.locator('#f-title input').fill('Check the password');
    await form.locator('#f-objective textarea').fill('Compare against the stored hash. [scenario: no-change]');
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    const result = form.locator('.result');
    await result.waitFor({ timeout: 30_000 });
    const branch = /Branch: (\S+)/.exec(await result.innerText())?.[1] ?? '';
    const md = (await repo().bare.readFile(`refs/heads/${branch}`, 'TASK.md')) ?? '';
    assert.match(md, /File: `src\/login\.ts` \(lines 1-3\)/);
    assert.match(
      md,
      /```typescript\nexport function login\(email: string, password: string\) \{\n {2}\/\/ TODO: check the password\n {2}return true;\n```/,
    );
    await toast(page, /without changing any file/).waitFor({ timeout: 60_000 });
  });

  it('4-5. status bar follows the pool (both slots busy; worker stopped; back); worker down at submit → PR still created, Retry sends the job', async function () {
    const item = page.locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ }).first();
    await item.waitFor({ timeout: 20_000 });
    // Two long jobs straight to the worker: the status bar shows both slots busy.
    const client = new WorkerClient(`http://127.0.0.1:${workerPort}`);
    const hanging = await Promise.all(
      ['busy-a', 'busy-b'].map(async (b) => {
        const pr = await makeTaskPr(gh, 'alice', 'app', b, b, '\n[scenario: hang]');
        return client.submit(jobRequest('alice', 'app', b, pr.number, b));
      }),
    );
    await page.locator('.statusbar-item', { hasText: 'Kiro 2/2 busy' }).first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'status-two-busy');
    for (const j of hanging) await client.request('POST', `/jobs/${j.jobId}/cancel`);
    await stopTheWorker();
    const offline = page.locator('.statusbar-item', { hasText: 'Kiro offline' }).first();
    await offline.waitFor({ timeout: 20_000 });
    await offline.hover();
    await page
      .locator('.monaco-hover', { hasText: /unreachable/ })
      .first()
      .waitFor({ timeout: 10_000 });
    await screenshot(page, 'status-offline');

    const form = await freshForm(page, 'Worker was down', 'Sent later. [scenario: no-change]');
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    await form.locator('.result').waitFor({ timeout: 30_000 });
    const problem = toast(page, /did not reach the worker/);
    await problem.waitFor({ timeout: 30_000 });
    await screenshot(page, 'send-failed');
    await startTheWorker();
    await page
      .locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ })
      .first()
      .waitFor({ timeout: 20_000 });
    await problem.locator('.monaco-button', { hasText: 'Retry' }).click();
    await pollUntil(() => [...(worker?.queue.jobs.values() ?? [])].find((j) => j.request.title === 'Worker was down'), {
      timeoutMs: 20_000,
      what: 'the retried job at the worker',
    });
    await screenshot(page, 'status-recovered');
  });

  it('5. the agent fails → a failure notification names the reason', async function () {
    const form = await freshForm(page, 'This one fails', 'The agent refuses. [scenario: fail]');
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    await form.locator('.result').waitFor({ timeout: 30_000 });
    const failed = toast(page, /Kiro could not finish PR #\d+ \(failed\): the agent exited with code 3/);
    await failed.waitFor({ timeout: 60_000 });
    await screenshot(page, 'agent-failed');
  });

  it('6. two delegations back to back from two windows → two PRs, two branches, both get their commits', async function () {
    const second = join(await tempDir(), 'app2');
    await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, second], alice.token);
    const other = await browser.context.newPage();
    try {
      await other.goto(`${cs.url}/?folder=${encodeURIComponent(second)}`);
      await other.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await other.locator('.statusbar-item', { hasText: 'Kiro' }).first().waitFor({ timeout: 60_000 });
      const f1 = await freshForm(page, 'Window one task', 'Window one task, please.');
      const f2 = await freshForm(other, 'Window two task', 'Window two task, please.');
      await f1.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
      await f2.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
      const texts = await Promise.all(
        [f1, f2].map(async (f) => {
          await f.locator('.result').waitFor({ timeout: 30_000 });
          return f.locator('.result').innerText();
        }),
      );
      await screenshot(other, 'second-window-submitted');
      const branches = texts.map((t) => /Branch: (\S+)/.exec(t)?.[1] ?? '');
      assert.notEqual(branches[0], branches[1]);
      const numbers = texts.map((t) => Number(/Pull request #(\d+)/.exec(t)?.[1]));
      assert.notEqual(numbers[0], numbers[1]);
      for (const [i, b] of branches.entries()) {
        const log = await pollUntil(
          async () => {
            const l = await repo().bare.log(`refs/heads/main..refs/heads/${b}`);
            return l.length === 2 ? l : undefined;
          },
          { timeoutMs: 60_000, what: `the agent's commit on ${b}` },
        );
        assert.equal(log[0]?.subject, `feat: Window ${i === 0 ? 'one' : 'two'} task`);
      }
    } finally {
      await other.close();
    }
  });

  /** Submits a fresh form and returns the PR number and branch from its result. */
  async function delegateFromForm(title: string, objective: string): Promise<{ number: number; branch: string; text: string }> {
    const form = await freshForm(page, title, objective);
    await form.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
    const result = form.locator('.result');
    await result.waitFor({ timeout: 30_000 });
    const text = await result.innerText();
    return { number: Number(/Pull request #(\d+)/.exec(text)?.[1]), branch: /Branch: (\S+)/.exec(text)?.[1] ?? '', text };
  }

  /** The worker's job for a branch (the test's own view of the service). */
  const jobFor = (branch: string) => [...(worker?.queue.jobs.values() ?? [])].filter((j) => j.request.branch === branch).at(-1);

  /** The Kiro view's row for a PR. */
  async function viewRow(number: number) {
    const view = page
      .locator('[id="workbench.parts.sidebar"] .pane', { has: page.locator('.pane-header', { hasText: 'Delegations' }) })
      .first();
    if (!(await view.isVisible())) await runCommand(page, 'Focus on Delegations View');
    await view.locator('.monaco-list-row').first().waitFor({ timeout: 20_000 });
    // The view is a virtualised tree: a row scrolled out of it is not in the page.
    return revealRow(page, view, view.locator('.monaco-list-row', { hasText: new RegExp(`#${number} `) }), { timeoutMs: 20_000 });
  }

  it("7. Show Agent Output: the terminal shows the agent's lines while it runs, then how the job ended", async function () {
    const { number, branch } = await delegateFromForm('Watch the agent', 'Hold until told. [scenario: hold]');
    // From the "PR created" notification.
    const created = toast(page, `PR #${number} created`);
    await created.waitFor({ timeout: 20_000 });
    await created.locator('.monaco-button', { hasText: 'Show Agent Output' }).click();
    const rows = page.locator('.xterm-rows');
    await rows.filter({ hasText: 'holding until GO appears' }).first().waitFor({ timeout: 30_000 });
    assert.equal(jobFor(branch)?.state, 'running', 'the output shows while the agent runs');
    await page
      .locator('.tab, .terminal-tab, .single-terminal-tab', { hasText: `Kiro: PR #${number}` })
      .first()
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined);
    await screenshot(page, 'agent-terminal-running');
    // Let the agent finish: it waits for a file in its own working tree.
    const job = jobFor(branch);
    writeFileSync(join(worker?.queue.workspaces.slotDir(job?.slotId ?? 0, 'alice', 'app') ?? '', 'GO'), '');
    await rows
      .filter({ hasText: /\[kiro\] job succeeded · exit code 0 · \d+ s · pushed [0-9a-f]{12}/ })
      .first()
      .waitFor({ timeout: 60_000 });
    await rows.filter({ hasText: 'Done.' }).first().waitFor();
    await screenshot(page, 'agent-terminal-ended');
    await toast(page, `Kiro pushed code to PR #${number}`).waitFor({ timeout: 60_000 });
  });

  it('8. Cancel from the Kiro view: a hanging agent stops, the view says cancelled, nothing is pushed', async function () {
    const { number, branch } = await delegateFromForm('Cancel this one', 'Never ends. [scenario: hang]');
    await pollUntil(() => jobFor(branch)?.state === 'running', { timeoutMs: 30_000, what: 'the agent to run' });
    const row = await viewRow(number);
    await row.locator('.monaco-tl-contents', { hasText: /running/ }).waitFor({ timeout: 20_000 });
    await row.hover();
    await row.locator('.action-label[aria-label="Cancel Job"]').click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 10_000 });
    await screenshot(page, 'cancel-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Cancel Job' }).click();
    await row.locator('.monaco-tl-contents', { hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'view-cancelled');
    assert.equal(jobFor(branch)?.state, 'cancelled');
    assert.equal((await repo().bare.log(`refs/heads/main..refs/heads/${branch}`)).length, 1, 'only the TASK.md commit');
  });

  it('9. Send Follow-up…: a second round on the same PR gives a second agent commit and a second notification', async function () {
    const { number, branch } = await delegateFromForm('Two rounds', 'The first round.');
    const first = toast(page, `Kiro pushed code to PR #${number}`);
    await first.waitFor({ timeout: 60_000 });
    await first.locator('.monaco-button', { hasText: 'Send Follow-up…' }).click();
    await answerInputBox(page, 'Now the second round, please.');
    await toast(page, `follow-up 1 added to PR #${number}`).waitFor({ timeout: 30_000 });
    await pollUntil(async () => (await repo().bare.log(`refs/heads/main..refs/heads/${branch}`)).length === 4, {
      timeoutMs: 60_000,
      what: 'the second agent commit',
    });
    const log = await repo().bare.log(`refs/heads/main..refs/heads/${branch}`);
    assert.deepEqual(
      log.map((l) => l.subject),
      ['feat: Two rounds', 'task: follow-up 1: Two rounds', 'feat: Two rounds', 'task: Two rounds'],
    );
    assert.match(
      (await repo().bare.readFile(`refs/heads/${branch}`, 'TASK.md')) ?? '',
      /## Follow-up 1[\s\S]*Now the second round, please\./,
    );
    await pollUntil(
      async () =>
        (await toast(page, `Kiro pushed code to PR #${number}`).count()) >= 1 &&
        (await viewRow(number)).locator('.monaco-tl-contents', { hasText: 'round 2 · pushed' }).isVisible(),
      { timeoutMs: 60_000, what: 'round 2 pushed in the view' },
    );
    await screenshot(page, 'follow-up-pushed');
  });

  it("10. the demo's Open PR and changes pages render from the stand-in", async function () {
    const { number, branch } = await delegateFromForm('Page check', 'For the PR page.');
    await toast(page, `Kiro pushed code to PR #${number}`).waitFor({ timeout: 60_000 });
    const other = await browser.context.newPage();
    try {
      await other.goto(`${gh.origin}/alice/app/pull/${number}`);
      await other.locator('body', { hasText: 'Page check' }).waitFor({ timeout: 10_000 });
      assert.match(await other.locator('body').innerText(), new RegExp(branch.replace(/[/.]/g, '\\$&')));
      assert.match(await other.locator('body').innerText(), /feat: Page check/);
      await screenshot(other, 'stand-in-pr-page');
      await other.goto(`${gh.origin}/alice/app/pull/${number}/files`);
      await other.locator('body', { hasText: 'IMPLEMENTATION.md' }).waitFor({ timeout: 10_000 });
      await screenshot(other, 'stand-in-files-page');
    } finally {
      await other.close();
    }
  });

  it('11. with the poll interval at ten minutes, the view\'s states and the "pushed" notification still arrive (the event stream drives them)', async function () {
    const settingsFile = join(cs.home, 'user-data', 'User', 'settings.json');
    const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(settingsFile, JSON.stringify({ ...settings, 'kiroDelegate.pollIntervalSeconds': 600 }, null, 2));
    // The watcher reads its interval when the extension starts: a reload makes the new one count.
    await reloadWindow(page);
    await page
      .locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ })
      .first()
      .waitFor({ timeout: 60_000 });
    const t0 = Date.now();
    const { number, branch } = await delegateFromForm('Live only', 'No polling here. [scenario: hold]');
    const row = await viewRow(number);
    await row.locator('.monaco-tl-contents', { hasText: /running \d+:\d\d/ }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'view-running-live');
    const job = jobFor(branch);
    writeFileSync(join(worker?.queue.workspaces.slotDir(job?.slotId ?? 0, 'alice', 'app') ?? '', 'GO'), '');
    await toast(page, `Kiro pushed code to PR #${number}`).waitFor({ timeout: 60_000 });
    await row.locator('.monaco-tl-contents', { hasText: 'pushed' }).waitFor({ timeout: 10_000 });
    assert.ok(Date.now() - t0 < 120_000, 'well before a ten-minute poll');
    await screenshot(page, 'pushed-live');
  });

  it("12. VS Code reports the extension's activation time (Developer: Show Running Extensions)", async function () {
    await runCommand(page, 'Developer: Show Running Extensions');
    // Sorted slowest first, and only the rows in view are rendered: wherever ours sorts, page to it.
    const editor = page.locator('.runtime-extensions-editor').first();
    const row = await revealRow(page, editor, editor.locator('.monaco-list-row', { hasText: 'Kiro Delegate' }));
    await screenshot(page, 'running-extensions');
    const text = await row.innerText();
    const ms = Number(/(\d+(?:\.\d+)?)\s*ms/.exec(text)?.[1]);
    assert.ok(Number.isFinite(ms), `an activation time in: ${JSON.stringify(text)}`);
    await mkdir(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, 'activation.json'), JSON.stringify({ activationHostMs: ms, text, measuredAt: new Date().toISOString() }));
    // This build opens it as a modal editor over the workbench: closed, so that what follows can point at the status bar.
    await page.keyboard.press('Escape');
    await page.locator('.runtime-extensions-editor').first().waitFor({ state: 'hidden', timeout: 10_000 });
  });

  it('13. a fleet on Redis: the status bar counts every host\'s slots ("Kiro 2/6 busy · 3 hosts"), the tooltip lists the hosts, a stopped host drops out', async function () {
    this.timeout(180_000);
    // The single worker makes way for three hosts sharing a private Redis; the one on the
    // extension's configured port is just one of them (any host answers for the fleet).
    await stopTheWorker();
    const redis = await startRedis(await tempDir());
    const fleet: TestWorker[] = [];
    const startHost = async (id: string, port?: number) => {
      const w = await startWorker(
        workerEnv(gh, bot.token, await tempDir(), { KIRO_REDIS_URL: redis.url, KIRO_WORKER_ID: id, KIRO_FLEET_HEARTBEAT_MS: '500' }),
        { port, agentEnv: { FAKE_KIRO_STEP_MS: '300' } },
      );
      fleet.push(w);
      return w;
    };
    try {
      await startHost('host-a', workerPort);
      const hostB = await startHost('host-b');
      const hostC = await startHost('host-c');
      const bar = page.locator('.statusbar-item', { hasText: /Kiro 0\/6 busy · 3 hosts/ }).first();
      await bar.waitFor({ timeout: 30_000 });
      // Two hanging jobs sent to two other hosts: the bar counts them wherever they run.
      const hanging = await Promise.all(
        ['fleet-a', 'fleet-b'].map(async (b, i) => {
          const pr = await makeTaskPr(gh, 'alice', 'app', b, b, '\n[scenario: hang]');
          return new WorkerClient((i ? hostC : hostB).url).submit(jobRequest('alice', 'app', b, pr.number, b));
        }),
      );
      const busy = page.locator('.statusbar-item', { hasText: 'Kiro 2/6 busy · 3 hosts' }).first();
      await busy.waitFor({ timeout: 30_000 });
      await page.keyboard.press('Escape');
      await busy.hover({ timeout: 10_000 });
      const tip = page.locator('.monaco-hover', { hasText: /host-a: \d\/2 busy/ }).first();
      await tip.waitFor({ timeout: 10_000 });
      const text = await tip.innerText();
      for (const id of ['host-a', 'host-b', 'host-c']) assert.match(text, new RegExp(`${id}: \\d/2 busy`), text);
      await screenshot(page, 'fleet-status');
      await page.keyboard.press('Escape');
      for (const j of hanging) await new WorkerClient(hostB.url).request('POST', `/jobs/${j.jobId}/cancel`);
      // A host that stops leaves the fleet: the bar says so without a reload.
      await hostC.close();
      await page
        .locator('.statusbar-item', { hasText: /Kiro 0\/4 busy · 2 hosts/ })
        .first()
        .waitFor({ timeout: 30_000 });
      await screenshot(page, 'fleet-host-gone');
    } finally {
      for (const w of fleet) await w.close().catch(() => undefined);
      await stopChild(redis.child, 3000);
      await startTheWorker();
    }
  });

  it("14. a workspace's .vscode/settings.json cannot redirect the tokens: a capture server named there for the worker and for GitHub sees no Authorization header (activation, the form, the view)", async function () {
    const seen: { url: string; authorization: string | undefined }[] = [];
    const capture = createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    const captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
    const vscodeDir = join(workspace, '.vscode');
    await mkdir(vscodeDir, { recursive: true });
    writeFileSync(
      join(vscodeDir, 'settings.json'),
      JSON.stringify({ 'kiroDelegate.workerUrl': captureUrl, 'kiroDelegate.githubEnterpriseUrl': captureUrl }),
    );
    try {
      await reloadWindow(page);
      // Still the user's worker: the status bar counts its slots.
      await page
        .locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ })
        .first()
        .waitFor({ timeout: 60_000 });
      // The form asks GitHub (the stand-in from the user's settings) while it is open, and the view lists delegations.
      await runCommand(page, 'Kiro: Delegate Task');
      const form = formFrame(page);
      await pollUntil(async () => (await form.locator('#f-owner input').inputValue()) === 'alice', {
        timeoutMs: 20_000,
        what: 'the form prefilled',
      });
      await form.locator('#f-title input').fill('Capture check');
      await pollUntil(() => gh.requests.some((r) => r.kind === 'graphql' && r.at > Date.now() - 30_000), {
        timeoutMs: 20_000,
        what: "the form's question to the real GitHub stand-in",
      });
      await runCommand(page, 'Focus on Delegations View');
      await page.locator('[id="workbench.parts.sidebar"]', { hasText: /Delegations/ }).waitFor({ timeout: 20_000 });
      await screenshot(page, 'workspace-settings-ignored');
      assert.deepEqual(
        seen.filter((r) => r.authorization !== undefined),
        [],
        'no credential reached the capture server',
      );
    } finally {
      rmSync(vscodeDir, { recursive: true, force: true });
      await new Promise((r) => capture.close(r));
      for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
    }
  });

  it("15. a worker with KIRO_AUTH=github: the GitHub sign-in becomes a worker session without a prompt; a delegation made on another machine (another code-server, same user) appears in this window's view with its live state", async function () {
    this.timeout(240_000);
    await stopTheWorker();
    await startTheWorker({ KIRO_AUTH: 'github', KIRO_SESSION_SECRET: 'an-e2e-session-secret-of-32-bytes-or-more' });
    let other: CodeServer | undefined;
    const otherPage = await browser.context.newPage();
    try {
      await reloadWindow(page);
      await page
        .locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ })
        .first()
        .waitFor({ timeout: 60_000 });
      const { number, branch } = await delegateFromForm('Signed in silently', 'Through a session. [scenario: no-change]');
      assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no prompt');
      const job = await pollUntil(() => jobFor(branch), { timeoutMs: 20_000, what: 'the job at the worker' });
      assert.equal(job.request.requestedBy, 'alice', 'the verified login');
      // The submit's record is written just after the job is made: wait for it.
      const audit = await pollUntil(
        async () => {
          const records = await worker!.app.jobs.audit.since(0, 1000);
          return records.some((r) => r.action === 'submit' && r.outcome === 'ok' && r.caller === 'alice' && r.prNumber === number)
            ? records
            : undefined;
        },
        { timeoutMs: 10_000, what: "the submit's audit record" },
      );
      assert.ok(
        audit.some((r) => r.action === 'session' && r.outcome === 'ok' && r.caller === 'alice'),
        'one session exchange',
      );

      // Another machine: its own code-server (its own secret storage and state), the same user.
      const otherWs = join(await tempDir(), 'app');
      await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, otherWs], alice.token);
      other = await startCodeServer({
        workspace: otherWs,
        vsix,
        settings: {
          'kiroDelegate.workerUrl': `http://127.0.0.1:${workerPort}`,
          'kiroDelegate.githubEnterpriseUrl': gh.origin,
          'terminal.integrated.gpuAcceleration': 'off',
        },
      });
      await otherPage.goto(`${other.url}/?folder=${encodeURIComponent(otherWs)}`);
      await otherPage.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await otherPage.locator('.statusbar-item', { hasText: 'Kiro' }).first().waitFor({ timeout: 60_000 });
      await runCommand(otherPage, 'Kiro: Set GitHub Token');
      await answerInputBox(otherPage, alice.token);
      const f = await freshForm(otherPage, 'From the other machine', 'Hold until told. [scenario: hold]');
      await f.locator('vscode-button', { hasText: 'Delegate to Kiro' }).click();
      await f.locator('.result').waitFor({ timeout: 30_000 });
      const otherNumber = Number(/Pull request #(\d+)/.exec(await f.locator('.result').innerText())?.[1]);
      const otherBranch = /Branch: (\S+)/.exec(await f.locator('.result').innerText())?.[1] ?? '';
      await pollUntil(() => jobFor(otherBranch)?.state === 'running', { timeoutMs: 30_000, what: "the other machine's job to run" });
      await screenshot(otherPage, 'other-machine-delegated');

      // This window learns of it from the worker (GET /jobs?mine=1), then follows it live.
      await runCommand(page, 'Kiro: Refresh Delegations');
      const row = await viewRow(otherNumber);
      await row.locator('.monaco-tl-contents', { hasText: /running/ }).waitFor({ timeout: 30_000 });
      await screenshot(page, 'other-machine-in-view');
      const held = jobFor(otherBranch);
      writeFileSync(join(worker?.queue.workspaces.slotDir(held?.slotId ?? 0, 'alice', 'app') ?? '', 'GO'), '');
      await (await viewRow(otherNumber)).locator('.monaco-tl-contents', { hasText: 'pushed' }).waitFor({ timeout: 60_000 });
    } catch (e) {
      await screenshot(otherPage, 'FAILED-15-other-machine');
      throw e;
    } finally {
      await otherPage.close().catch(() => undefined);
      await other?.stop().catch(() => undefined);
    }
  });

  it('16. a /kiro comment on GitHub (the stand-in) becomes a new round in the view, with its notification; the job link opens its agent terminal', async function () {
    this.timeout(180_000);
    const secret = 'an-e2e-webhook-secret-0123456789';
    await stopTheWorker();
    await startTheWorker({
      KIRO_AUTH: 'github',
      KIRO_SESSION_SECRET: 'an-e2e-session-secret-of-32-bytes-or-more',
      KIRO_GITHUB_WEBHOOK_SECRET: secret,
    });
    gh.webhooks.set(`http://127.0.0.1:${workerPort}/github/webhook`, secret);
    if (!gh.model.users.get('bob')) gh.addUser('bob');
    gh.grant('alice', 'app', 'bob', 'WRITE');
    await reloadWindow(page);
    await page
      .locator('.statusbar-item', { hasText: /Kiro \d\/2 busy/ })
      .first()
      .waitFor({ timeout: 60_000 });
    const { number } = await delegateFromForm('Steered from GitHub', 'A first round, then a reviewer asks for more.');
    await (await viewRow(number)).locator('.monaco-tl-contents', { hasText: 'pushed' }).waitFor({ timeout: 60_000 });
    await runCommand(page, 'Notifications: Clear All Notifications');

    // A teammate on GitHub, not in this VS Code, asks for another round.
    const made = await gh.webhooks.comment('alice', 'app', number, 'bob', '/kiro also write it down in the README');
    assert.equal(made.delivery.status, 202, made.delivery.answer);
    const outcomes = (await worker?.app.steering?.handled()) ?? [];
    const round = outcomes.at(-1);
    assert.equal(round?.kind, 'queued', JSON.stringify(outcomes));
    const jobId = round?.kind === 'queued' ? round.jobId : '';
    // No refresh, and the PR poll interval is still test 11's ten minutes: the window in use asks
    // the worker for its list every 15 s at most, then follows the job live.
    await page.bringToFront();
    await (await viewRow(number)).locator('.monaco-tl-contents', { hasText: 'round 2 · pushed' }).waitFor({ timeout: 60_000 });
    await toast(page, `Kiro pushed code to PR #${number}`).waitFor({ timeout: 30_000 });
    await screenshot(page, 'github-round-in-view');

    // The check run's link, as this VS Code build names its scheme (code-server's is code-oss; VS Code's, vscode).
    await runCommand(page, 'Developer: Open URL');
    await answerInputBox(page, `code-oss://kiro-delegate.kiro-delegate/job/${jobId}`);
    // VS Code asks, as it does for any extension's link, before the extension gets it.
    const ask = page.locator('.monaco-dialog-box', { hasText: "Allow 'Kiro Delegate' extension to open this URI?" });
    await ask.waitFor({ timeout: 10_000 });
    await ask.locator('.monaco-button', { hasText: /^Open$/ }).click();
    await page
      .locator('.xterm-rows')
      .filter({ hasText: /\[kiro\] job succeeded · exit code 0 · \d+ s · pushed [0-9a-f]{12}/ })
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'job-link-terminal');
  });
  it('17. the Get Started walkthrough renders its four steps; each is checked once its fact holds (the worker accepts us, a GitHub token is known, a PR exists)', async function () {
    this.timeout(120_000);
    await runCommand(page, 'Welcome: Open Walkthrough...');
    const list = page.locator('.quick-input-list');
    await list.locator('.monaco-list-row').first().waitFor({ state: 'visible' });
    await (await revealRow(page, list, list.locator('.monaco-list-row', { hasText: 'Get Started with Kiro Delegate' }))).click();
    const step = (id: string) => page.locator(`button.getting-started-step[data-step-id$="#getStarted#${id}"]`);
    const steps = page.locator('button.getting-started-step[data-step-id*="#getStarted#"]');
    await step('workerUrl').waitFor({ timeout: 20_000 });
    assert.deepEqual(
      (await steps.allInnerTexts()).map((t) =>
        t
          .split('\n')
          .map((l) => l.trim())
          .find(Boolean),
      ),
      ['Point Kiro at your worker', 'Give the worker your credential', 'Connect GitHub', 'Delegate your first task'],
    );
    // The tokens set in before(): the worker answers /health with them, and a GitHub token is known.
    for (const id of ['workerUrl', 'workerToken', 'github'])
      await page
        .locator(`button.getting-started-step[data-step-id$="#getStarted#${id}"][aria-checked="true"]`)
        .waitFor({ timeout: 30_000 });
    // Run on its own (--grep "17\."), nothing was delegated yet: the last step is checked by the first PR.
    if ((await step('firstDelegation').getAttribute('aria-checked')) !== 'true') {
      await screenshot(page, 'walkthrough-three-done');
      await delegateFromForm('A first delegation', "Checks the walkthrough's last step.");
      await runCommand(page, 'Welcome: Open Walkthrough...');
      await list.locator('.monaco-list-row').first().waitFor({ state: 'visible' });
      await (await revealRow(page, list, list.locator('.monaco-list-row', { hasText: 'Get Started with Kiro Delegate' }))).click();
    }
    await page
      .locator('button.getting-started-step[data-step-id$="#getStarted#firstDelegation"][aria-checked="true"]')
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'walkthrough');
  });
  it('18. Kiro: Show Worker Pool opens its picker at once (busy), and adds the slots when the worker answers', async function () {
    await runCommand(page, 'Kiro: Show Worker Pool');
    const widget = page.locator('.quick-input-widget');
    await widget.locator('.quick-input-title', { hasText: 'Kiro worker pool' }).waitFor({ timeout: 10_000 });
    const rows = widget.locator('.quick-input-list .monaco-list-row');
    await rows
      .filter({ hasText: /Slot 0: (idle|busy)/ })
      .first()
      .waitFor({ timeout: 20_000 });
    // No longer busy: the placeholder says what a pick does.
    assert.match((await widget.locator('input').getAttribute('placeholder')) ?? '', /A busy slot shows its agent's output/);
    await screenshot(page, 'pool-picker');
    await page.keyboard.press('Escape');
  });
});
