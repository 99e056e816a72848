// Kiro: Check Out Branch — the delegation's branch in this workspace's repository.
import * as vscode from 'vscode';
import { checkoutBranch as checkout } from '../git/vscodeGit.js';
import { withDelegation, type Command } from './command.js';

export const checkoutBranch: Command = {
  id: 'kiroDelegate.checkoutBranch',
  handler: ({ services }) =>
    withDelegation(services, async (d) => {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Checking out ${d.branch}…` }, () =>
        checkout(d.branch),
      );
      vscode.window.setStatusBarMessage(`$(git-branch) Checked out ${d.branch}`, 5000);
    }),
};
