// Kiro: Show Pool Details — the worker's slots and recent delegations; a pick opens the PR or a busy slot's terminal.
// The picker opens at once, busy, with the recent delegations; the pool's rows join when /health answers (up to 10 s).
import * as vscode from 'vscode';
import { showAgentOutput } from '../ui/agentTerminal.js';
import { poolPickItems } from '../ui/healthView.js';
import type { HealthStatusBar } from '../ui/statusBar.js';
import type { Services } from '../services.js';
import { requireWorker, type Command } from './command.js';

type PoolItem = vscode.QuickPickItem & { id?: string; jobId?: string };

function poolItems(last: HealthStatusBar['last']): PoolItem[] {
  const items: PoolItem[] = [];
  if (last.kind === 'ok') {
    const h = last.health;
    for (const { kind, ...item } of poolPickItems(h))
      items.push(kind === 'separator' ? { label: item.label, kind: vscode.QuickPickItemKind.Separator } : item);
    if (!h.agent.found) items.push({ label: `$(warning) ${h.agent.message}` });
  } else {
    items.push({ label: `$(error) ${'message' in last ? last.message : 'No worker configured'}` });
  }
  return items;
}

function recentItems(services: Services): PoolItem[] {
  return [
    { label: 'Recent delegations', kind: vscode.QuickPickItemKind.Separator },
    ...services.store
      .all()
      .slice(0, 10)
      .map((d) => ({ label: `#${d.prNumber} ${d.title}`, description: d.sendFailed ? 'not sent' : d.state, detail: d.problem, id: d.id })),
  ];
}

/** The picker, busy until the worker answered; resolves with the pick (undefined: dismissed). */
async function pickFromPool(services: Services, statusBar: HealthStatusBar): Promise<PoolItem | undefined> {
  const qp = vscode.window.createQuickPick<PoolItem>();
  qp.title = 'Kiro worker pool';
  qp.busy = true;
  qp.placeholder = 'Asking the worker for its slots…';
  qp.items = recentItems(services);
  const picked = new Promise<PoolItem | undefined>((resolve) => {
    qp.onDidAccept(() => {
      resolve(qp.selectedItems[0]);
      qp.hide();
    });
    qp.onDidHide(() => resolve(undefined));
  });
  qp.show();
  void statusBar.refresh().then(() => {
    qp.items = [...poolItems(statusBar.last), ...recentItems(services)];
    qp.placeholder = "A busy slot shows its agent's output; a delegation opens its pull request";
    qp.busy = false;
  });
  try {
    return await picked;
  } finally {
    qp.dispose();
  }
}

export const showPoolDetails: Command = {
  id: 'kiroDelegate.showPoolDetails',
  handler:
    ({ services, statusBar }) =>
    async () => {
      const pick = await pickFromPool(services, statusBar);
      if (pick?.id) await vscode.commands.executeCommand('kiroDelegate.openPr', { id: pick.id });
      else if (pick?.jobId) {
        // A busy slot: its agent's terminal, whoever delegated the job.
        const api = requireWorker(services);
        const mine = services.store.all().find((d) => d.jobId === pick.jobId);
        const job = mine ? undefined : await api?.job(pick.jobId);
        if (api && (mine || job))
          showAgentOutput(
            mine ?? {
              id: `job:${pick.jobId}`,
              jobId: pick.jobId,
              prNumber: job?.prNumber ?? 0,
              owner: job?.owner ?? '',
              repo: job?.repo ?? '',
              branch: job?.branch ?? '',
            },
            api,
          );
      }
    },
};
