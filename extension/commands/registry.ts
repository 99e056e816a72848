// The commands on delegations and settings, one file each, registered in one place
// (the delegation form's commands are in delegate.ts).
import * as vscode from 'vscode';
import type { Services } from '../services.js';
import type { HealthStatusBar } from '../ui/statusBar.js';
import type { Command } from './command.js';
import { cancelJob } from './cancelJob.js';
import { checkoutBranch } from './checkoutBranch.js';
import { openPr } from './openPr.js';
import { refreshDelegations } from './refreshDelegations.js';
import { retrySend } from './retrySend.js';
import { sendFollowUp } from './sendFollowUp.js';
import { setGitHubToken } from './setGitHubToken.js';
import { setWorkerToken } from './setWorkerToken.js';
import { showAgentOutput } from './showAgentOutput.js';
import { showLog } from './showLog.js';
import { showPoolDetails } from './showPoolDetails.js';
import { viewChanges } from './viewChanges.js';

export const ACTION_COMMANDS: readonly Command[] = [
  showAgentOutput,
  cancelJob,
  sendFollowUp,
  showLog,
  refreshDelegations,
  openPr,
  viewChanges,
  checkoutBranch,
  retrySend,
  setWorkerToken,
  setGitHubToken,
  showPoolDetails,
];

export function registerActionCommands(context: vscode.ExtensionContext, services: Services, statusBar: HealthStatusBar): void {
  const ctx = { context, services, statusBar };
  context.subscriptions.push(...ACTION_COMMANDS.map((c) => vscode.commands.registerCommand(c.id, c.handler(ctx))));
}
