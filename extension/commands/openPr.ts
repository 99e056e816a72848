// Kiro: Open Pull Request — the delegation's PR in the browser.
import * as vscode from 'vscode';
import { withDelegation, type Command } from './command.js';

export const openPr: Command = {
  id: 'kiroDelegate.openPr',
  handler: ({ services }) => withDelegation(services, (d) => vscode.env.openExternal(vscode.Uri.parse(d.prUrl))),
};
