// The "Kiro Delegations" view: what this user delegated, newest first.
import * as vscode from 'vscode';
import type { Delegation, DelegationState, DelegationStore } from '../delegations/model.js';

const ICON: Record<DelegationState, string> = {
  creating: 'loading~spin', queued: 'clock', running: 'sync~spin', pushed: 'git-pull-request', 'no-changes': 'circle-slash', failed: 'error', closed: 'git-pull-request-closed',
};
const LABEL: Record<DelegationState, string> = {
  creating: 'creating', queued: 'queued', running: 'running', pushed: 'pushed', 'no-changes': 'no changes', failed: 'failed', closed: 'closed',
};

export class DelegationsView implements vscode.TreeDataProvider<Delegation>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: { dispose(): void };

  constructor(private readonly store: DelegationStore) {
    this.sub = store.onDidChange(() => this.changed.fire());
  }

  getChildren(element?: Delegation): Delegation[] {
    return element ? [] : this.store.all();
  }

  getTreeItem(d: Delegation): vscode.TreeItem {
    const item = new vscode.TreeItem(`#${d.prNumber} ${d.title}`);
    const state = d.sendFailed ? 'not sent' : LABEL[d.state];
    item.description = `${state} · ${d.branch}`;
    item.iconPath = new vscode.ThemeIcon(d.sendFailed ? 'warning' : ICON[d.state]);
    item.tooltip = new vscode.MarkdownString(`**${d.title}**  \n${d.owner}/${d.repo} · PR #${d.prNumber}  \nBranch \`${d.branch}\`  \nState: ${state}${d.problem ? `  \n${d.problem}` : ''}  \nConfirmation code \`${d.id}\``);
    item.contextValue = `delegation.${d.state}${d.sendFailed ? '.sendFailed' : ''}`;
    item.command = { command: 'kiroDelegate.openPr', title: 'Open Pull Request', arguments: [d] };
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
