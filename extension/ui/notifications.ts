// Notifications with actions: the agent pushed, the job failed, sending failed.
import * as vscode from 'vscode';
import { pushedMessage } from '../delegations/describe.js';
import type { Delegation } from '../delegations/model.js';
import type { WatchEvent } from '../github/watcher.js';
import type { Services } from '../services.js';
import { sendProblemView, type SendProblem } from '../delegations/sendProblem.js';

export function notifySendProblem(services: Services, d: Delegation, outcome: SendProblem): void {
  const view = sendProblemView(d.prNumber, outcome);
  void vscode.window.showWarningMessage(view.message, ...view.actions).then(async (pick) => {
    if (pick === 'Retry') {
      // A refused plain-HTTP transport is asked again on a retry the user asked for.
      services.forgetDeclinedTransports();
      await vscode.commands.executeCommand('kiroDelegate.retrySend', d);
    } else if (pick === 'Set Worker Token') await vscode.commands.executeCommand('kiroDelegate.setWorkerToken');
    else if (pick === 'Sign in to GitHub') {
      services.githubIdentityChanged();
      if (await services.github(true)) await vscode.commands.executeCommand('kiroDelegate.retrySend', d);
    } else if (pick === 'Set GitHub Token') await vscode.commands.executeCommand('kiroDelegate.setGitHubToken');
    else if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'kiroDelegate');
  });
  services.log.warn(`job for PR #${d.prNumber} not sent: ${outcome.message}`);
}

export function notifyWatchEvent(services: Services, e: WatchEvent): void {
  const d = e.delegation;
  const prActions = async (pick: string | undefined) => {
    if (pick === 'Show Agent Output') await vscode.commands.executeCommand('kiroDelegate.showAgentOutput', d);
    else if (pick === 'Open PR') await vscode.commands.executeCommand('kiroDelegate.openPr', d);
    else if (pick === 'Send Follow-up…') await vscode.commands.executeCommand('kiroDelegate.sendFollowUp', d);
    else if (pick === 'Check Out Branch') await vscode.commands.executeCommand('kiroDelegate.checkoutBranch', d);
    else if (pick === 'View Changes') await vscode.commands.executeCommand('kiroDelegate.viewChanges', d);
  };
  switch (e.type) {
    case 'pushed':
      services.log.info(`agent pushed ${e.headOid.slice(0, 12)} to ${d.branch} (PR #${d.prNumber})${e.summary ? `; it says:\n${e.summary}` : ''}`);
      // A non-modal notification shows no `detail`: the summary goes into the message itself.
      void vscode.window.showInformationMessage(pushedMessage(d, e.summary), 'Open PR', 'Check Out Branch', 'View Changes', 'Send Follow-up…').then(prActions);
      return;
    case 'job-ended': {
      const reason = e.job.error?.message ?? e.job.state;
      services.log.warn(`job for PR #${d.prNumber} ended ${e.job.state}: ${reason}`);
      if (e.job.state === 'no-changes') void vscode.window.showInformationMessage(`Kiro finished PR #${d.prNumber} without changing any file: ${d.title}`, 'Open PR', 'Show Agent Output', 'Send Follow-up…').then(prActions);
      else if (e.job.state === 'cancelled') void vscode.window.showInformationMessage(`Kiro's job for PR #${d.prNumber} was cancelled: ${d.title}`, 'Open PR', 'Show Agent Output').then(prActions);
      else void vscode.window.showErrorMessage(`Kiro could not finish PR #${d.prNumber} (${e.job.state}): ${reason}`, 'Open PR', 'Show Agent Output').then(prActions);
      return;
    }
    case 'closed':
      void vscode.window.showInformationMessage(`PR #${d.prNumber} was ${e.merged ? 'merged' : 'closed'}; Kiro stopped watching it.`);
      return;
    default: {
      const never: never = e;
      return never;
    }
  }
}
