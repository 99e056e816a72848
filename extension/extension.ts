// activate(): wiring only. The extension's behaviour lives in plain modules.
import * as vscode from 'vscode';
import { registerActionCommands } from './commands/registry.js';
import { registerDelegateCommands } from './commands/delegate.js';
import { Services } from './services.js';
import { registerChatParticipant } from './chat/participant.js';
import { registerTools } from './chat/tools.js';
import { DelegationsView } from './ui/delegationsView.js';
import { jobLinkHandler } from './ui/jobLinks.js';
import { notifyWatchEvent } from './ui/notifications.js';
import { HealthStatusBar } from './ui/statusBar.js';
import { trackWalkthroughContext } from './ui/walkthroughContext.js';
import { ignoredWorkspaceSettings, readSettings } from './settings.js';
import { roundsSyncDue, roundsSyncPeriodMs } from './delegations/syncSchedule.js';

/** Workspace values of the settings that say where tokens go are never used: said once per value. */
function warnIgnoredSettings(warned: Set<string>, log: vscode.LogOutputChannel): void {
  for (const [key, value] of ignoredWorkspaceSettings()) {
    const id = `${key}=${value}`;
    if (warned.has(id)) continue;
    warned.add(id);
    log.warn(`ignored the workspace's ${key} (${value}): only your user settings may say where Kiro sends tokens`);
    void vscode.window
      .showWarningMessage(
        `Kiro ignored "${key}" from this workspace's settings (${value}). A repository's settings could send your tokens elsewhere, so Kiro reads this setting from your user settings only.`,
        'Open User Settings',
      )
      .then((pick) => pick && vscode.commands.executeCommand('workbench.action.openSettings', key));
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Kiro Delegate', { log: true });
  const services = new Services(context, log);
  const statusBar = new HealthStatusBar(services);
  const view = new DelegationsView(services.store);
  const warned = new Set<string>();
  context.subscriptions.push(
    log,
    services,
    statusBar,
    view,
    vscode.window.registerTreeDataProvider('kiroDelegate.delegations', view),
    vscode.window.registerUriHandler(jobLinkHandler(services)),
    services.onWatchEvent((e) => notifyWatchEvent(services, e)),
    services.onSlots((pool) => statusBar.applySlots(pool)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('kiroDelegate')) {
        services.clearTokenCache();
        warnIgnoredSettings(warned, log);
        void statusBar.refresh();
        // Another worker: its list of this user's delegations.
        if (e.affectsConfiguration('kiroDelegate.workerUrl')) void services.syncFromWorker();
      }
    }),
  );
  const flow = registerDelegateCommands(context, services, statusBar);
  registerActionCommands(context, services, statusBar);
  registerChatParticipant(context, services, flow);
  registerTools(context, services, flow);
  // Work after start-up is deferred: the first health check and resuming watches.
  setTimeout(() => {
    warnIgnoredSettings(warned, log);
    statusBar.start();
    services.watcher.start();
    services.events.refresh();
    context.subscriptions.push(trackWalkthroughContext(services));
    // Delegations started from another machine or profile, as the worker lists them.
    void services.syncFromWorker();
  }, 0);
  // Rounds started on GitHub (`/kiro`) join the view: the list is asked again on a short
  // period while the window is focused (less often while not), and when it gains focus.
  let tick = 0;
  const sync = setInterval(() => {
    if (roundsSyncDue(++tick, vscode.window.state.focused)) void services.syncFromWorker();
  }, roundsSyncPeriodMs(readSettings().pollIntervalMs));
  context.subscriptions.push(
    { dispose: () => clearInterval(sync) },
    vscode.window.onDidChangeWindowState((s) => s.focused && void services.syncFromWorker()),
  );
}

export function deactivate(): void {}
