// The extension's settings, read in one place. The two that say where tokens go
// (the worker URL, the GitHub Enterprise URL) are read from the user's settings only:
// a workspace value (a repository's .vscode/settings.json) is ignored, and reported.
import * as vscode from 'vscode';
import { machineSetting, MACHINE_ONLY_SETTINGS } from './auth/trust.js';

export interface Settings {
  workerUrl: string;
  baseBranch: string;
  branchPrefix: string;
  draft: boolean;
  pollIntervalMs: number;
  healthIntervalMs: number;
  /** e.g. https://ghe.example.com; empty for github.com. */
  enterpriseUrl: string;
}

/** Workspace values of the machine-only settings that were set and ignored: `kiroDelegate.workerUrl` → the value. */
export function ignoredWorkspaceSettings(): Map<string, string> {
  const c = vscode.workspace.getConfiguration('kiroDelegate');
  const ignored = new Map<string, string>();
  for (const key of MACHINE_ONLY_SETTINGS) {
    const v = machineSetting(c.inspect<string>(key), '').ignored;
    if (v !== undefined) ignored.set(`kiroDelegate.${key}`, String(v));
  }
  return ignored;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('kiroDelegate');
  return {
    workerUrl: String(machineSetting(c.inspect<string>('workerUrl'), 'http://127.0.0.1:8080').value).trim(),
    baseBranch: c.get<string>('baseBranch', '').trim(),
    branchPrefix: c.get<string>('branchPrefix', 'kiro/'),
    draft: c.get<boolean>('draftPullRequests', false),
    pollIntervalMs: Math.max(2, c.get<number>('pollIntervalSeconds', 20)) * 1000,
    healthIntervalMs: Math.max(2, c.get<number>('healthIntervalSeconds', 30)) * 1000,
    enterpriseUrl: String(machineSetting(c.inspect<string>('githubEnterpriseUrl'), '').value)
      .trim()
      .replace(/\/+$/, ''),
  };
}

/** REST base URL and auth provider for github.com or an Enterprise server. */
export function githubEndpoint(s: Settings): { apiUrl: string; providerId: 'github' | 'github-enterprise'; webUrl: string } {
  if (!s.enterpriseUrl) return { apiUrl: 'https://api.github.com', providerId: 'github', webUrl: 'https://github.com' };
  return { apiUrl: `${s.enterpriseUrl}/api/v3`, providerId: 'github-enterprise', webUrl: s.enterpriseUrl };
}
