// Kiro: Retry Sending — the delegation's job to the worker again (same idempotency key).
import * as vscode from 'vscode';
import { sendToWorker } from '../delegations/delegate.js';
import { notifySendProblem } from '../ui/notifications.js';
import { withDelegation, type Command } from './command.js';

export const retrySend: Command = {
  id: 'kiroDelegate.retrySend',
  handler: ({ services, statusBar }) =>
    withDelegation(services, async (d) => {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Kiro: sending PR #${d.prNumber} to the worker` },
        () =>
          sendToWorker(d, {
            worker: () => services.worker(),
            store: services.store,
            log: (m) => services.log.info(m),
            onSendProblem: (x, o) => notifySendProblem(services, x, o),
          }),
      );
      const after = services.store.get(d.id);
      if (after?.jobId && !after.sendFailed)
        vscode.window.showInformationMessage(`Kiro: the worker has PR #${d.prNumber} (job ${after.jobId.slice(0, 8)}).`);
      services.watcher.start();
      void statusBar.refresh();
    }),
};
