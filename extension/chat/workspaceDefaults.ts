// The repository and base branch a chat request or a tool call means when it names none:
// the workspace's GitHub remote and the form's base-branch choice (setting, default branch, current branch).
import * as vscode from 'vscode';
import { chooseBaseBranch } from '../../shared/baseBranch.js';
import { lookupBaseBranches } from '../github/baseBranches.js';
import { workspaceRepo } from '../git/vscodeGit.js';
import type { Services } from '../services.js';
import { readSettings } from '../settings.js';
import type { WorkspaceDefaults } from './chatText.js';

export async function workspaceDefaults(services: Services): Promise<WorkspaceDefaults> {
  const settings = readSettings();
  const info = await workspaceRepo(vscode.window.activeTextEditor?.document.uri);
  const remote = info.remote;
  const github = remote && !settings.baseBranch ? await services.github(false) : undefined;
  const looked = remote && github ? await lookupBaseBranches(github, remote.owner, remote.repo, info.branch).catch(() => ({})) : {};
  const base = chooseBaseBranch({ setting: settings.baseBranch, currentBranch: info.branch, kiroPrefix: settings.branchPrefix, ...looked });
  return { owner: remote?.owner ?? '', repo: remote?.repo ?? '', baseBranch: base.value };
}
