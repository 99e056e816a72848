// activate(): wiring only. The extension's behaviour lives in plain modules.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Kiro Delegate', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand('kiroDelegate.showLog', () => log.show()));
}

export function deactivate(): void {}
