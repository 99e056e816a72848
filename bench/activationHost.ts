// Activation inside a real extension host: code-server (VS Code 1.139) with the
// built VSIX, a workbench in headless chromium, and VS Code's own figure from
// "Developer: Show Running Extensions" (the time it reports for this extension's
// activation), over a few fresh starts. Needs the e2e tools (npm run test:e2e
// installs them once); without them this suite says so and measures nothing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../test/support/helpers.js';
import { repoRoot } from '../test/support/paths.js';
import { startCodeServer, e2eInstalled } from '../test/e2e/support/codeServer.js';
import { openBrowser, runCommand } from '../test/e2e/support/browser.js';
import { percentile, round } from './stats.js';

const STARTS = Number(process.env.BENCH_HOST_STARTS ?? 3);

export async function benchActivationHost(): Promise<Record<string, number>> {
  if (!e2eInstalled()) {
    console.log('activation (real host): not measured: code-server is not installed here (npm run test:e2e installs it)');
    return {};
  }
  const vsix = join(await tempDir(), 'kiro-delegate.vsix');
  execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix], { cwd: repoRoot, stdio: 'pipe' });
  const times: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const workspace = await tempDir();
    const cs = await startCodeServer({ workspace, vsix, settings: { 'kiroDelegate.workerUrl': 'http://127.0.0.1:9' } });
    const browser = await openBrowser();
    try {
      const page = browser.page;
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await page.locator('.statusbar-item', { hasText: 'Kiro' }).first().waitFor({ timeout: 60_000 });
      await runCommand(page, 'Developer: Show Running Extensions');
      const row = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'Kiro Delegate' }).first();
      await row.waitFor({ timeout: 30_000 });
      const ms = Number(/Activation:\s*(\d+(?:\.\d+)?)\s*ms/.exec(await row.innerText())?.[1]);
      if (Number.isFinite(ms)) times.push(ms);
    } finally {
      await browser.context.close().catch(() => undefined);
      await cs.stop().catch(() => undefined);
    }
  }
  const activationHostMs = percentile(times, 50);
  console.log(
    `activation (real host, VS Code's own figure): p50 ${round(activationHostMs)} ms over ${times.length} starts (${times.join(', ')} ms)`,
  );
  return { activationHostMs: round(activationHostMs) };
}
