// activate(): wiring only. The extension's behaviour lives in plain modules.
import * as vscode from 'vscode';
import { registerActionCommands } from './commands/actions.js';
import { registerDelegateCommands } from './commands/delegate.js';
import { Services } from './services.js';
import { DelegationsView } from './ui/delegationsView.js';
import { notifyWatchEvent } from './ui/notifications.js';
import { HealthStatusBar } from './ui/statusBar.js';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Kiro Delegate', { log: true });
  const services = new Services(context, log);
  const statusBar = new HealthStatusBar(services);
  const view = new DelegationsView(services.store);
  context.subscriptions.push(
    log, services, statusBar, view,
    vscode.window.registerTreeDataProvider('kiroDelegate.delegations', view),
    services.onWatchEvent((e) => notifyWatchEvent(services, e)),
    services.onSlots((pool) => statusBar.applySlots(pool)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('kiroDelegate')) {
        services.clearTokenCache();
        void statusBar.refresh();
      }
    }),
  );
  registerDelegateCommands(context, services, statusBar);
  registerActionCommands(context, services, statusBar);
  // Work after start-up is deferred: the first health check and resuming watches.
  setTimeout(() => {
    statusBar.start();
    services.watcher.start();
    services.events.refresh();
  }, 0);
}

export function deactivate(): void {}
