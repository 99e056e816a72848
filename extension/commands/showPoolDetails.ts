// Kiro: Show Pool Details — the worker's slots and recent delegations; a pick opens the PR or a busy slot's terminal.
import * as vscode from 'vscode';
import { showAgentOutput } from '../ui/agentTerminal.js';
import { poolPickItems } from '../ui/healthView.js';
import { requireWorker, type Command } from './command.js';

export const showPoolDetails: Command = {
  id: 'kiroDelegate.showPoolDetails',
  handler: ({ services, statusBar }) => async () => {
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
    const pick = await vscode.window.showQuickPick<vscode.QuickPickItem & { id?: string; jobId?: string }>(items, { title: 'Kiro worker pool' });
    if (pick?.id) await vscode.commands.executeCommand('kiroDelegate.openPr', { id: pick.id });
    else if (pick?.jobId) {
      // A busy slot: its agent's terminal, whoever delegated the job.
      const api = requireWorker(services);
      const mine = services.store.all().find((d) => d.jobId === pick.jobId);
      const job = mine ? undefined : await api?.job(pick.jobId);
      if (api && (mine || job)) showAgentOutput(mine ?? { id: `job:${pick.jobId}`, jobId: pick.jobId, prNumber: job?.prNumber ?? 0, owner: job?.owner ?? '', repo: job?.repo ?? '', branch: job?.branch ?? '' }, api);
    }
  },
};
