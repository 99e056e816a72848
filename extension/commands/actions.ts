// Commands on delegations and settings: open PR, check out, view changes, retry
// sending, tokens, pool details, the log.
import * as vscode from 'vscode';
import { ACTIVE, type Delegation } from '../delegations/model.js';
import { cancelDelegation } from '../delegations/cancel.js';
import { sendFollowUp } from '../delegations/followUp.js';
import { showAgentOutput } from '../ui/agentTerminal.js';
import type { WorkerApi } from '../worker/client.js';
import { sendToWorker } from '../delegations/delegate.js';
import { checkoutBranch } from '../git/vscodeGit.js';
import { GITHUB_TOKEN_KEY, WORKER_TOKEN_KEY, type Services } from '../services.js';
import { githubEndpoint, readSettings } from '../settings.js';
import { notifySendProblem } from '../ui/notifications.js';
import type { HealthStatusBar } from '../ui/statusBar.js';
import { poolPickItems } from '../ui/healthView.js';

function pickDelegation(services: Services, arg: unknown): Delegation | undefined {
  const id = (arg as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? services.store.get(id) : undefined;
}

/** From the palette there is no item: ask which delegation (those the command applies to). */
async function chooseDelegation(services: Services, title: string, filter: (d: Delegation) => boolean): Promise<Delegation | undefined> {
  const items = services.store.all().filter(filter).map((d) => ({ label: `#${d.prNumber} ${d.title}`, description: `${d.state} · ${d.owner}/${d.repo}`, id: d.id }));
  if (items.length === 0) {
    vscode.window.showInformationMessage(`Kiro: no delegation to ${title.toLowerCase()}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(items, { title: `Kiro: ${title}` });
  return pick ? services.store.get(pick.id) : undefined;
}

/** Asks for a token and keeps it in SecretStorage (empty removes it); false when the user cancelled. */
async function askSecret(context: vscode.ExtensionContext, key: string, title: string, what: string): Promise<boolean> {
  const token = await vscode.window.showInputBox({ title, prompt: `${what} Kept in VS Code's secret storage. Leave empty to remove it.`, password: true, ignoreFocusOut: true });
  if (token === undefined) return false;
  if (token.trim() === '') await context.secrets.delete(key);
  else await context.secrets.store(key, token.trim());
  return true;
}

export function registerActionCommands(context: vscode.ExtensionContext, services: Services, statusBar: HealthStatusBar): void {
  const withDelegation = (fn: (d: Delegation) => unknown) => async (arg: unknown) => {
    const d = pickDelegation(services, arg);
    if (!d) {
      vscode.window.showInformationMessage('Pick a delegation in the Delegations view (Kiro, in the activity bar).');
      return;
    }
    try {
      await fn(d);
    } catch (e) {
      vscode.window.showErrorMessage(`Kiro: ${(e as Error).message}`);
    }
  };
  const worker = (): WorkerApi | undefined => {
    const api = services.worker();
    if (!api) vscode.window.showWarningMessage('Kiro: no worker configured. Set "kiroDelegate.workerUrl".');
    return api;
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('kiroDelegate.showAgentOutput', async (arg: unknown) => {
      const d = pickDelegation(services, arg) ?? (await chooseDelegation(services, 'Show Agent Output', (x) => Boolean(x.jobId)));
      const api = d && worker();
      if (d && api) showAgentOutput(d, api);
    }),
    vscode.commands.registerCommand('kiroDelegate.cancelJob', async (arg: unknown) => {
      const d = pickDelegation(services, arg) ?? (await chooseDelegation(services, 'Cancel Job', (x) => ACTIVE.has(x.state) && Boolean(x.jobId)));
      if (!d) return;
      if (!d.jobId || !ACTIVE.has(d.state)) {
        vscode.window.showInformationMessage(`Kiro: PR #${d.prNumber} has no job to cancel (${d.state}).`);
        return;
      }
      const ok = await vscode.window.showWarningMessage(`Cancel Kiro's job for PR #${d.prNumber}?`, { modal: true, detail: `"${d.title}": the agent is stopped and nothing more is pushed. The pull request stays open.` }, 'Cancel Job');
      const api = ok && worker();
      if (!api) return;
      await cancelDelegation(d, { worker: api, store: services.store, log: (m) => services.log.info(m) }).then((outcome) => {
        if (outcome.kind === 'error') vscode.window.showErrorMessage(`Kiro could not cancel PR #${d.prNumber}: ${outcome.message}`);
      });
      void statusBar.refresh();
    }),
    vscode.commands.registerCommand('kiroDelegate.sendFollowUp', async (arg: unknown) => {
      const d = pickDelegation(services, arg) ?? (await chooseDelegation(services, 'Send Follow-up', (x) => x.state !== 'closed' && x.state !== 'creating'));
      if (!d) return;
      const instructions = await vscode.window.showInputBox({
        title: `Kiro: follow-up for PR #${d.prNumber} — ${d.title}`,
        prompt: 'What should the agent do next on this branch? It is added to TASK.md as a new "Follow-up" section; the agent works from the branch as it is now.',
        placeHolder: 'e.g. Also handle an empty password, and add a test for it',
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? undefined : 'Write what the agent should do'),
      });
      if (!instructions?.trim()) return;
      const github = await services.github(true);
      if (!github) return;
      try {
        const sent = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Kiro: sending the follow-up to PR #${d.prNumber}…` }, () =>
          sendFollowUp(d, instructions, { github, worker: () => services.worker(), store: services.store, log: (m) => services.log.info(m), onSendProblem: (x, o) => notifySendProblem(services, x, o) }));
        services.watcher.start();
        void sent.sending.finally(() => services.watcher.start());
        vscode.window.showInformationMessage(`Kiro: follow-up ${sent.round - 1} added to PR #${d.prNumber}; the agent is on it.`, 'Show Agent Output').then(async (pick) => {
          if (!pick) return;
          await sent.sending;
          await vscode.commands.executeCommand('kiroDelegate.showAgentOutput', { id: d.id });
        });
      } catch (e) {
        vscode.window.showErrorMessage(`Kiro could not send the follow-up: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('kiroDelegate.showLog', () => services.log.show()),
    // The view's refresh: this user's jobs on the worker, from whichever machine they were started.
    vscode.commands.registerCommand('kiroDelegate.refreshDelegations', () =>
      vscode.window.withProgress({ location: { viewId: 'kiroDelegate.delegations' } }, () => services.syncFromWorker())),
    vscode.commands.registerCommand('kiroDelegate.openPr', withDelegation((d) => vscode.env.openExternal(vscode.Uri.parse(d.prUrl)))),
    vscode.commands.registerCommand('kiroDelegate.viewChanges', withDelegation((d) => {
      const web = githubEndpoint(readSettings()).webUrl;
      const base = d.prUrl.includes('/pull/') ? d.prUrl.replace(/\/pull\/\d+$/, '') : `${web}/${d.owner}/${d.repo}`;
      return vscode.env.openExternal(vscode.Uri.parse(`${base}/pull/${d.prNumber}/files`));
    })),
    vscode.commands.registerCommand('kiroDelegate.checkoutBranch', withDelegation(async (d) => {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Checking out ${d.branch}…` }, () => checkoutBranch(d.branch));
      vscode.window.setStatusBarMessage(`$(git-branch) Checked out ${d.branch}`, 5000);
    })),
    vscode.commands.registerCommand('kiroDelegate.retrySend', withDelegation(async (d) => {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Kiro: sending PR #${d.prNumber} to the worker` }, () =>
        sendToWorker(d, { worker: () => services.worker(), store: services.store, log: (m) => services.log.info(m), onSendProblem: (x, o) => notifySendProblem(services, x, o) }));
      const after = services.store.get(d.id);
      if (after?.jobId && !after.sendFailed) vscode.window.showInformationMessage(`Kiro: the worker has PR #${d.prNumber} (job ${after.jobId.slice(0, 8)}).`);
      services.watcher.start();
      void statusBar.refresh();
    })),
    vscode.commands.registerCommand('kiroDelegate.setWorkerToken', async () => {
      if (await askSecret(context, WORKER_TOKEN_KEY, 'Kiro Worker Token', 'The bearer token of your Kiro worker (KIRO_WORKER_TOKEN).')) void statusBar.refresh();
    }),
    vscode.commands.registerCommand('kiroDelegate.setGitHubToken', async () => {
      const web = githubEndpoint(readSettings()).webUrl;
      const what = `This editor has no GitHub sign-in: paste a GitHub token that can push to the repository (classic: "repo" scope; fine-grained: Contents and Pull requests, read and write; create one at ${web}/settings/tokens).`;
      if (await askSecret(context, GITHUB_TOKEN_KEY, 'Kiro: GitHub Token', what)) services.githubIdentityChanged();
    }),
    vscode.commands.registerCommand('kiroDelegate.showPoolDetails', async () => {
      await statusBar.refresh();
      const last = statusBar.last;
      const items: vscode.QuickPickItem[] = [];
      if (last.kind === 'ok') {
        const h = last.health;
        for (const { kind, ...item } of poolPickItems(h)) items.push(kind === 'separator' ? { label: item.label, kind: vscode.QuickPickItemKind.Separator } : item);
        if (!h.agent.found) items.push({ label: `$(warning) ${h.agent.message}` });
      } else {
        items.push({ label: `$(error) ${'message' in last ? last.message : 'No worker configured'}` });
      }
      items.push({ label: 'Recent delegations', kind: vscode.QuickPickItemKind.Separator });
      for (const d of services.store.all().slice(0, 10)) items.push({ label: `#${d.prNumber} ${d.title}`, description: d.sendFailed ? 'not sent' : d.state, detail: d.problem, id: d.id } as vscode.QuickPickItem & { id: string });
      const pick = (await vscode.window.showQuickPick(items, { title: 'Kiro worker pool' })) as (vscode.QuickPickItem & { id?: string; jobId?: string }) | undefined;
      if (pick?.id) await vscode.commands.executeCommand('kiroDelegate.openPr', { id: pick.id });
      else if (pick?.jobId) {
        // A busy slot: its agent's terminal, whoever delegated the job.
        const api = worker();
        const mine = services.store.all().find((d) => d.jobId === pick.jobId);
        const job = mine ? undefined : await api?.job(pick.jobId);
        if (api && (mine || job)) showAgentOutput(mine ?? { id: `job:${pick.jobId}`, jobId: pick.jobId, prNumber: job?.prNumber ?? 0, owner: job?.owner ?? '', repo: job?.repo ?? '', branch: job?.branch ?? '' }, api);
      }
    }),
  );
}
