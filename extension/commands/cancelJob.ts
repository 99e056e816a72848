// Kiro: Cancel Job — stops the agent after a confirmation; the PR stays open.
import * as vscode from 'vscode';
import { ACTIVE } from '../delegations/model.js';
import { cancelDelegation } from '../delegations/cancel.js';
import { chooseDelegation, pickDelegation, requireWorker, type Command } from './command.js';

export const cancelJob: Command = {
  id: 'kiroDelegate.cancelJob',
  handler:
    ({ services, statusBar }) =>
    async (arg: unknown) => {
      const d =
        pickDelegation(services, arg) ?? (await chooseDelegation(services, 'Cancel Job', (x) => ACTIVE.has(x.state) && Boolean(x.jobId)));
      if (!d) return;
      if (!d.jobId || !ACTIVE.has(d.state)) {
        vscode.window.showInformationMessage(`Kiro: PR #${d.prNumber} has no job to cancel (${d.state}).`);
        return;
      }
      const ok = await vscode.window.showWarningMessage(
        `Cancel Kiro's job for PR #${d.prNumber}?`,
        { modal: true, detail: `"${d.title}": the agent is stopped and nothing more is pushed. The pull request stays open.` },
        'Cancel Job',
      );
      const api = ok && requireWorker(services);
      if (!api) return;
      await cancelDelegation(d, { worker: api, store: services.store, log: (m) => services.log.info(m) }).then((outcome) => {
        if (outcome.kind === 'error') vscode.window.showErrorMessage(`Kiro could not cancel PR #${d.prNumber}: ${outcome.message}`);
      });
      void statusBar.refresh();
    },
};
