// What every command of commands/ is given, and the helpers they share: which delegation
// a command is about (the view's item, or a pick from the palette) and the worker client.
import * as vscode from 'vscode';
import type { Delegation } from '../delegations/model.js';
import type { Services } from '../services.js';
import type { HealthStatusBar } from '../ui/statusBar.js';
import type { WorkerApi } from '../worker/client.js';

export interface CommandContext {
  context: vscode.ExtensionContext;
  services: Services;
  statusBar: HealthStatusBar;
}

/** One command: its id in package.json, and its handler made from the context. */
export interface Command {
  id: string;
  handler(ctx: CommandContext): (...args: unknown[]) => unknown;
}

/** The delegation a view item (or a notification) passed as the argument. */
export function pickDelegation(services: Services, arg: unknown): Delegation | undefined {
  const id = (arg as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? services.store.get(id) : undefined;
}

/** From the palette there is no item: ask which delegation (those the command applies to). */
export async function chooseDelegation(
  services: Services,
  title: string,
  filter: (d: Delegation) => boolean,
): Promise<Delegation | undefined> {
  const items = services.store
    .all()
    .filter(filter)
    .map((d) => ({ label: `#${d.prNumber} ${d.title}`, description: `${d.state} · ${d.owner}/${d.repo}`, id: d.id }));
  if (items.length === 0) {
    vscode.window.showInformationMessage(`Kiro: no delegation to ${title.toLowerCase()}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(items, { title: `Kiro: ${title}` });
  return pick ? services.store.get(pick.id) : undefined;
}

/** A handler on the argument's delegation (none: where to pick one); its error is shown. */
export function withDelegation(services: Services, fn: (d: Delegation) => unknown): (arg: unknown) => Promise<void> {
  return async (arg: unknown) => {
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
}

/** The worker client, or undefined with a warning that says which setting is missing. */
export function requireWorker(services: Services): WorkerApi | undefined {
  const api = services.worker();
  if (!api) vscode.window.showWarningMessage('Kiro: no worker configured. Set "kiroDelegate.workerUrl".');
  return api;
}

/** Asks for a token and keeps it in SecretStorage (empty removes it); false when the user cancelled. */
export async function askSecret(context: vscode.ExtensionContext, key: string, title: string, what: string): Promise<boolean> {
  const token = await vscode.window.showInputBox({
    title,
    prompt: `${what} Kept in VS Code's secret storage. Leave empty to remove it.`,
    password: true,
    ignoreFocusOut: true,
  });
  if (token === undefined) return false;
  if (token.trim() === '') await context.secrets.delete(key);
  else await context.secrets.store(key, token.trim());
  return true;
}
