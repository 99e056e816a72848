// Headless Debian chromium driven by playwright-core, with screenshots of each
// step saved under test-results/e2e (git-ignored) so a failure can be looked at.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type FrameLocator, type Locator } from 'playwright-core';
import { repoRoot } from '../../support/paths.js';

export const SHOTS = join(repoRoot, 'test-results', 'e2e');

export async function openBrowser(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'kiro-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

let shot = 0;
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`) }).catch(() => undefined);
}

export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const list = page.locator('.quick-input-list');
  // Rows render as the palette filters: wait for a first one, then find ours wherever it sorts.
  await list.locator('.monaco-list-row').first().waitFor({ state: 'visible' });
  const row = await revealRow(page, list, list.locator('.monaco-list-row', { hasText: title }));
  await row.click();
}

/**
 * Developer: Reload Window, and the new workbench: the old one stays in the page until the
 * reload starts, so waiting for `.monaco-workbench` alone can pass before it (and the next
 * key press is lost in the reload).
 */
export async function reloadWindow(page: Page): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: 90_000 });
  await runCommand(page, 'Developer: Reload Window');
  await loaded;
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
}

export async function answerInputBox(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** The content frame of our webview (the form). */
export function formFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready[src*="extensionId=kiro-delegate.kiro-delegate"]').frameLocator('iframe#active-frame');
}

export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text });
}

/**
 * A row of one of VS Code's lists (explorer, views, quick picks, Running Extensions). They
 * are virtualised: only the rows in view are in the page, and which rows those are depends
 * on the window's size and on the list's order (Running Extensions sorts by activation time).
 * So, while the row is not rendered, scroll the list with the mouse wheel, as a person would,
 * a little less than its height at a time, waiting each time for other rows to be rendered;
 * at the bottom (the rendered rows no longer change) go back to the top and look again (a
 * list still filling), until the row is rendered or time is up. `list` holds the `.monaco-list`.
 */
export async function revealRow(page: Page, list: Locator, row: Locator, opts: { timeoutMs?: number } = {}): Promise<Locator> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const monacoList = list.locator('.monaco-list').first();
  await monacoList.waitFor({ timeout: opts.timeoutMs ?? 30_000 });
  const rendered = () =>
    monacoList
      .locator('.monaco-list-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-posinset')).join(','))
      .catch(() => '');
  for (;;) {
    if (await row.first().isVisible()) return row.first();
    if (Date.now() > deadline) throw new Error(`timed out bringing a list row into view: ${String(row)}`);
    const box = await monacoList.boundingBox();
    if (!box) continue;
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
    const before = await rendered();
    await page.mouse.wheel(0, Math.max(40, box.height * 0.8));
    const moved = Date.now() + 1_000;
    let after = before;
    while (Date.now() < moved && (after = await rendered()) === before) await new Promise((r) => setTimeout(r, 25));
    // Nothing new below: the bottom. Back to the top, and look again.
    if (after === before) await page.mouse.wheel(0, -1_000_000);
  }
}
