// The Delegations view's refresh: this user's jobs on the worker, from whichever machine they were started.
import * as vscode from 'vscode';
import type { Command } from './command.js';

export const refreshDelegations: Command = {
  id: 'kiroDelegate.refreshDelegations',
  handler: ({ services }) => () => vscode.window.withProgress({ location: { viewId: 'kiroDelegate.delegations' } }, () => services.syncFromWorker()),
};
