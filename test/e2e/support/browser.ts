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
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
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
  const row = await revealRow(page, list, list.locator('.monaco-list-row', { hasText: title }), { inQuickPick: true });
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
 * So, while the row is not rendered: page down through the list (PageDown moves the keyboard
 * focus a page and renders the rows it passes), waiting each time for the focus to move; from
 * the last row (`aria-posinset` = `aria-setsize`) start again at the first (a list still
 * filling), until the row is rendered or time is up. `list` holds the `.monaco-list`; a quick
 * pick's input already routes PageDown to its list (and keeps Home for its text), so
 * `inQuickPick` leaves the focus in the input and, at its last row, waits for the filter to
 * change the list.
 */
export async function revealRow(page: Page, list: Locator, row: Locator, opts: { timeoutMs?: number; inQuickPick?: boolean } = {}): Promise<Locator> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const monacoList = list.locator('.monaco-list').first();
  await monacoList.waitFor({ timeout: opts.timeoutMs ?? 30_000 });
  const focused = monacoList.locator('.monaco-list-row.focused').first();
  const position = async () => focused.evaluate((e) => `${e.getAttribute('aria-posinset')}/${e.getAttribute('aria-setsize')}`).catch(() => '');
  const atEnd = (pos: string) => { const [at, of] = pos.split('/'); return !!at && at === of; };
  if (!(await row.first().isVisible()) && !opts.inQuickPick) {
    await monacoList.focus();
    await page.keyboard.press('Home');
  }
  for (;;) {
    if (await row.first().isVisible()) return row.first();
    if (Date.now() > deadline) throw new Error(`timed out bringing a list row into view: ${String(row)}`);
    const before = await position();
    const last = atEnd(before);
    if (!(last && opts.inQuickPick)) await page.keyboard.press(last ? 'Home' : 'PageDown');
    // The list re-renders around its new focus: look for the row once the focus has moved.
    const moved = Date.now() + 2_000;
    while (Date.now() < moved && (await position()) === before && before !== '') await new Promise((r) => setTimeout(r, 25));
  }
}
