// The extension's settings, read in one place.
import * as vscode from 'vscode';

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

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('kiroDelegate');
  return {
    workerUrl: c.get<string>('workerUrl', 'http://127.0.0.1:8080').trim(),
    baseBranch: c.get<string>('baseBranch', '').trim(),
    branchPrefix: c.get<string>('branchPrefix', 'kiro/'),
    draft: c.get<boolean>('draftPullRequests', false),
    pollIntervalMs: Math.max(2, c.get<number>('pollIntervalSeconds', 20)) * 1000,
    healthIntervalMs: Math.max(2, c.get<number>('healthIntervalSeconds', 30)) * 1000,
    enterpriseUrl: c.get<string>('githubEnterpriseUrl', '').trim().replace(/\/+$/, ''),
  };
}

/** REST base URL and auth provider for github.com or an Enterprise server. */
export function githubEndpoint(s: Settings): { apiUrl: string; providerId: 'github' | 'github-enterprise'; webUrl: string } {
  if (!s.enterpriseUrl) return { apiUrl: 'https://api.github.com', providerId: 'github', webUrl: 'https://github.com' };
  return { apiUrl: `${s.enterpriseUrl}/api/v3`, providerId: 'github-enterprise', webUrl: s.enterpriseUrl };
}
