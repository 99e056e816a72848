// The Delegations view's refresh: this user's jobs on the worker, from whichever machine they were started.
import * as vscode from 'vscode';
import type { Command } from './command.js';

export const refreshDelegations: Command = {
  id: 'kiroDelegate.refreshDelegations',
  handler:
    ({ services }) =>
    async () => {
      const error = await vscode.window.withProgress({ location: { viewId: 'kiroDelegate.delegations' } }, () => services.syncFromWorker());
      if (error)
        void vscode.window
          .showWarningMessage(
            `Kiro could not list your jobs on the worker: ${error}. The view shows what this window knew; Refresh tries again.`,
            'Show Log',
          )
          .then((b) => b && vscode.commands.executeCommand('kiroDelegate.showLog'));
    },
};
