// The status-bar item: the worker pool's health, refreshed on a setTimeout chain
// (slower while the window is unfocused). A click shows details.
import * as vscode from 'vscode';
import { applySlots, describeHealth } from './healthView.js';
import type { Services } from '../services.js';
import { readSettings } from '../settings.js';
import type { HealthOutcome } from '../worker/client.js';
import type { PoolSlots } from '../../shared/protocol.js';

export class HealthStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('kiroDelegate.health', vscode.StatusBarAlignment.Left, 50);
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
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

  private render(): void {
    const view = describeHealth(this.last);
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip.replace(/\n/g, '  \n'));
    this.item.backgroundColor = view.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : view.severity === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
