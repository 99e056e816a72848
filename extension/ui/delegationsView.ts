// The Delegations view (in the Kiro activity bar container): what this user delegated, newest first.
import * as vscode from 'vscode';
import { describeState, tooltipLines } from '../delegations/describe.js';
import type { Delegation, DelegationState, DelegationStore } from '../delegations/model.js';

const ICON: Record<DelegationState, string> = {
  creating: 'loading~spin',
  queued: 'clock',
  running: 'sync~spin',
  pushed: 'git-pull-request',
  'no-changes': 'circle-slash',
  failed: 'error',
  cancelled: 'debug-stop',
  closed: 'git-pull-request-closed',
};

export class DelegationsView implements vscode.TreeDataProvider<Delegation>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: { dispose(): void };

  /** Ticks while an agent runs, so "running m:ss" counts. */
  private readonly clock: NodeJS.Timeout;

  constructor(private readonly store: DelegationStore) {
    this.sub = store.onDidChange(() => this.changed.fire());
    this.clock = setInterval(() => {
      if (store.all().some((d) => d.state === 'running' && d.jobState === 'running')) this.changed.fire();
    }, 1000);
  }

  getChildren(element?: Delegation): Delegation[] {
    return element ? [] : this.store.all();
  }

  getTreeItem(d: Delegation): vscode.TreeItem {
    const item = new vscode.TreeItem(`#${d.prNumber} ${d.title}`);
    const state = describeState(d);
    item.description = state;
    item.iconPath = new vscode.ThemeIcon(d.sendFailed ? 'warning' : ICON[d.state]);
    item.tooltip = new vscode.MarkdownString(tooltipLines(d).join('  \n'));
    item.contextValue = `delegation.${d.state}${d.sendFailed ? '.sendFailed' : ''}${d.jobId ? '.hasJob' : ''}`;
    // A click shows what the agent is doing (or did); without a job yet, the PR.
    item.command = d.jobId
      ? { command: 'kiroDelegate.showAgentOutput', title: 'Show Agent Output', arguments: [d] }
      : { command: 'kiroDelegate.openPr', title: 'Open Pull Request', arguments: [d] };
    return item;
  }

  dispose(): void {
    clearInterval(this.clock);
    this.sub.dispose();
    this.changed.dispose();
  }
}
