// Notifications with actions: the agent pushed, the job failed, sending failed. Buttons
// are MessageItems with an id: a pick is matched on its id, never on its title.
import * as vscode from 'vscode';
import { pushedMessage } from '../delegations/describe.js';
import type { Delegation } from '../delegations/model.js';
import type { WatchEvent } from '../github/watcher.js';
import type { Services } from '../services.js';
import { SEND_ACTIONS, sendProblemView, type SendActionId, type SendProblem } from '../delegations/sendProblem.js';

interface Button<Id extends string> extends vscode.MessageItem {
  id: Id;
}

export function notifySendProblem(services: Services, d: Delegation, outcome: SendProblem): void {
  const view = sendProblemView(d.prNumber, outcome);
  const buttons = view.actionIds.map((id): Button<SendActionId> => ({ id, title: SEND_ACTIONS[id] }));
  void vscode.window.showWarningMessage(view.message, ...buttons).then(async (pick) => {
    if (pick) await onSendAction(services, d, pick.id);
  });
  services.log.warn(`job for PR #${d.prNumber} not sent: ${outcome.message}`);
}

async function onSendAction(services: Services, d: Delegation, id: SendActionId): Promise<void> {
  switch (id) {
    case 'retry':
      // A refused plain-HTTP transport is asked again on a retry the user asked for.
      services.forgetDeclinedTransports();
      await vscode.commands.executeCommand('kiroDelegate.retrySend', d);
      return;
    case 'setWorkerToken':
      await vscode.commands.executeCommand('kiroDelegate.setWorkerToken');
      return;
    case 'signInToGitHub':
      services.githubIdentityChanged();
      if (await services.github(true)) await vscode.commands.executeCommand('kiroDelegate.retrySend', d);
      return;
    case 'setGitHubToken':
      await vscode.commands.executeCommand('kiroDelegate.setGitHubToken');
      return;
    case 'openSettings':
      await vscode.commands.executeCommand('workbench.action.openSettings', 'kiroDelegate');
      return;
    default:
      return id satisfies never;
  }
}

/** The buttons on a delegation's notifications: each runs the command of its id on the delegation. */
const PR_ACTIONS = {
  openPr: 'Open PR',
  checkoutBranch: 'Check Out Branch',
  viewChanges: 'View Changes',
  sendFollowUp: 'Send Follow-up…',
  showAgentOutput: 'Show Agent Output',
} as const;
type PrActionId = keyof typeof PR_ACTIONS;

function prButtons(...ids: PrActionId[]): Button<PrActionId>[] {
  return ids.map((id) => ({ id, title: PR_ACTIONS[id] }));
}

export function notifyWatchEvent(services: Services, e: WatchEvent): void {
  const d = e.delegation;
  const prActions = async (pick: Button<PrActionId> | undefined) => {
    if (pick) await vscode.commands.executeCommand(`kiroDelegate.${pick.id}`, d);
  };
  switch (e.type) {
    case 'pushed':
      services.log.info(
        `agent pushed ${e.headOid.slice(0, 12)} to ${d.branch} (PR #${d.prNumber})${e.summary ? `; it says:\n${e.summary}` : ''}`,
      );
      // A non-modal notification shows no `detail`: the summary goes into the message itself.
      void vscode.window
        .showInformationMessage(pushedMessage(d, e.summary), ...prButtons('openPr', 'checkoutBranch', 'viewChanges', 'sendFollowUp'))
        .then(prActions);
      return;
    case 'job-ended': {
      const reason = e.job.error?.message ?? e.job.state;
      services.log.warn(`job for PR #${d.prNumber} ended ${e.job.state}: ${reason}`);
      if (e.job.state === 'no-changes')
        void vscode.window
          .showInformationMessage(
            `Kiro finished PR #${d.prNumber} without changing any file: ${d.title}`,
            ...prButtons('openPr', 'showAgentOutput', 'sendFollowUp'),
          )
          .then(prActions);
      else if (e.job.state === 'cancelled')
        void vscode.window
          .showInformationMessage(`Kiro's job for PR #${d.prNumber} was cancelled: ${d.title}`, ...prButtons('openPr', 'showAgentOutput'))
          .then(prActions);
      else
        void vscode.window
          .showErrorMessage(
            `Kiro could not finish PR #${d.prNumber} (${e.job.state}): ${reason}`,
            ...prButtons('openPr', 'showAgentOutput'),
          )
          .then(prActions);
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
