// Kiro: View Changes — the PR's "Files changed" page.
import * as vscode from 'vscode';
import { githubEndpoint, readSettings } from '../settings.js';
import { withDelegation, type Command } from './command.js';

export const viewChanges: Command = {
  id: 'kiroDelegate.viewChanges',
  handler: ({ services }) =>
    withDelegation(services, (d) => {
      const web = githubEndpoint(readSettings()).webUrl;
      const base = d.prUrl.includes('/pull/') ? d.prUrl.replace(/\/pull\/\d+$/, '') : `${web}/${d.owner}/${d.repo}`;
      return vscode.env.openExternal(vscode.Uri.parse(`${base}/pull/${d.prNumber}/files`));
    }),
};
