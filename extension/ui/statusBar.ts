// The status-bar item: the worker pool's health, refreshed on a setTimeout chain
// (slower while the window is unfocused). A click shows details.
import * as vscode from 'vscode';
import { applySlots, describeHealth } from './healthView.js';
import type { Services } from '../services.js';
import { readSettings } from '../settings.js';
import type { HealthOutcome } from '../worker/client.js';
import type { PoolSlots } from '../../shared/protocol.js';
import { compareProtocol, protocolProblem } from '../worker/protocolCompat.js';
import { setWalkthroughKey, WORKER_READY } from './walkthroughContext.js';

const UPDATE_WORKER_DOCS = 'https://github.com/kiro-delegate/kiro-delegate/blob/main/docs/operations/deploy.md';

export class HealthStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('kiroDelegate.health', vscode.StatusBarAlignment.Left, 50);
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Worker URLs whose protocol mismatch was already told (once per URL and protocol). */
  private readonly toldMismatch = new Set<string>();
  last: HealthOutcome | { kind: 'not-configured' } = { kind: 'not-configured' };

  constructor(private readonly services: Services) {
    this.item.name = 'Kiro Worker';
    this.item.command = 'kiroDelegate.showPoolDetails';
    this.item.text = '$(loading~spin) Kiro';
    this.item.show();
  }

  start(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const worker = this.services.worker();
    this.last = worker ? await worker.health() : { kind: 'not-configured' };
    this.render();
    // The walkthrough's "connect the worker" steps: the worker answered /health with a valid credential.
    void setWalkthroughKey(WORKER_READY, this.last.kind === 'ok');
    if (worker && this.last.kind === 'ok') this.tellMismatch(worker.baseUrl, this.last.health.protocol);
    if (this.disposed) return;
    const { healthIntervalMs } = readSettings();
    this.timer = setTimeout(() => void this.refresh(), vscode.window.state.focused ? healthIntervalMs : healthIntervalMs * 4);
  }

  /** A slots event from the worker's live stream (with a fleet's hosts): the bar follows at once, without a request. */
  applySlots(pool: PoolSlots): void {
    if (this.last.kind !== 'ok') return;
    this.last = { kind: 'ok', health: applySlots(this.last.health, pool) };
    this.render();
  }

  /** A worker older or newer than this extension understands: one warning per worker URL, with what to do. */
  private tellMismatch(url: string, protocol: unknown): void {
    const compat = compareProtocol(protocol);
    const message = protocolProblem(compat, url);
    const key = `${url}#${String(protocol)}`;
    if (!message || this.toldMismatch.has(key)) return;
    this.toldMismatch.add(key);
    this.services.log.warn(message);
    const action = compat.kind === 'worker-newer' ? 'Update the Extension' : 'How to Update the Worker';
    void vscode.window.showWarningMessage(message, action).then((pick) => {
      if (pick === 'Update the Extension')
        void vscode.commands.executeCommand('workbench.extensions.search', '@id:kiro-delegate.kiro-delegate');
      else if (pick) void vscode.env.openExternal(vscode.Uri.parse(UPDATE_WORKER_DOCS));
    });
  }

  private render(): void {
    const view = describeHealth(this.last);
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip.replace(/\n/g, '  \n'));
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
