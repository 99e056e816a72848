// Kiro: Send Follow-up — a new round on the delegation's branch (a "Follow-up" section in TASK.md).
import * as vscode from 'vscode';
import { sendFollowUp as send } from '../delegations/followUp.js';
import { notifySendProblem } from '../ui/notifications.js';
import { chooseDelegation, pickDelegation, type Command } from './command.js';

export const sendFollowUp: Command = {
  id: 'kiroDelegate.sendFollowUp',
  handler:
    ({ services }) =>
    async (arg: unknown) => {
      const d =
        pickDelegation(services, arg) ??
        (await chooseDelegation(services, 'Send Follow-up', (x) => x.state !== 'closed' && x.state !== 'creating'));
      if (!d) return;
      const instructions = await vscode.window.showInputBox({
        title: `Kiro: follow-up for PR #${d.prNumber} — ${d.title}`,
        prompt:
          'What should the agent do next on this branch? It is added to TASK.md as a new "Follow-up" section; the agent works from the branch as it is now.',
        placeHolder: 'e.g. Also handle an empty password, and add a test for it',
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? undefined : 'Write what the agent should do'),
      });
      if (!instructions?.trim()) return;
      const github = await services.github(true);
      if (!github) return;
      try {
        const sent = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Kiro: sending the follow-up to PR #${d.prNumber}…` },
          () =>
            send(d, instructions, {
              github,
              worker: () => services.worker(),
              store: services.store,
              log: (m) => services.log.info(m),
              onSendProblem: (x, o) => notifySendProblem(services, x, o),
            }),
        );
        services.watcher.start();
        void sent.sending.finally(() => services.watcher.start());
        const showOutput: vscode.MessageItem & { id: 'showAgentOutput' } = { title: 'Show Agent Output', id: 'showAgentOutput' };
        vscode.window
          .showInformationMessage(`Kiro: follow-up ${sent.round - 1} added to PR #${d.prNumber}; the agent is on it.`, showOutput)
          .then(async (pick) => {
            if (pick?.id !== 'showAgentOutput') return;
            await sent.sending;
            await vscode.commands.executeCommand('kiroDelegate.showAgentOutput', { id: d.id });
          });
      } catch (e) {
        vscode.window.showErrorMessage(`Kiro could not send the follow-up: ${(e as Error).message}`);
      }
    },
};
