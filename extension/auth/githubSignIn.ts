// The user's GitHub access: the token (a VS Code sign-in, or one pasted into SecretStorage),
// asking the user to sign in when a command needs it, the client built on it, and the login.
import * as vscode from 'vscode';
import { hasGitHubSignIn, resolveGitHubToken } from './githubToken.js';
import { GITHUB_TOKEN_KEY } from './secretKeys.js';
import type { Verdict } from './plainHttpConsent.js';
import type { GitHubClient } from '../github/client.js';
import { loadGitHubClient } from '../github/lazyClient.js';
import { githubEndpoint, readSettings } from '../settings.js';

export interface GitHubSignInDeps {
  secrets: vscode.SecretStorage;
  log: vscode.LogOutputChannel;
  mayCarryCredentials(url: string, what: string): Promise<Verdict>;
}

export class GitHubSignIn {
  private cachedToken: string | undefined;
  private viewer: { token: string; login: string } | undefined;

  constructor(private readonly deps: GitHubSignInDeps) {}

  /** The GitHub client, or undefined when there is no token (interactive: ask the user to sign in). */
  async client(interactive: boolean): Promise<GitHubClient | undefined> {
    const token = this.cachedToken ?? (await this.token(interactive));
    if (!token) return undefined;
    this.cachedToken = token;
    const { apiUrl } = githubEndpoint(readSettings());
    const verdict = await this.deps.mayCarryCredentials(apiUrl, 'your GitHub token');
    if (!verdict.ok) {
      this.deps.log.warn(verdict.message);
      if (interactive) void vscode.window.showErrorMessage(verdict.message);
      return undefined;
    }
    return loadGitHubClient().createGitHubClient({
      token,
      baseUrl: apiUrl,
      onRetry: (what, s) => this.deps.log.warn(`GitHub asked to slow down (${what}); retrying in ${s} s`),
    });
  }

  /** The GitHub token without any prompt (for the worker's session exchange): a signed-in user is asked nothing. */
  async tokenSilently(): Promise<string | undefined> {
    this.cachedToken ??= await this.token(false);
    return this.cachedToken;
  }

  /** The user's GitHub login (token mode's "mine"), asked of GitHub once per token. */
  async login(): Promise<string | undefined> {
    const github = await this.client(false);
    const token = this.cachedToken;
    if (!github || !token) return undefined;
    if (this.viewer?.token !== token) this.viewer = { token, login: (await github.rest.users.getAuthenticated()).data.login };
    return this.viewer.login;
  }

  /** Another GitHub account (or none, or another pasted token): the token is asked again. */
  identityChanged(): void {
    this.cachedToken = undefined;
    this.viewer = undefined;
  }

  clearTokenCache(): void {
    this.cachedToken = undefined;
  }

  private async token(interactive: boolean): Promise<string | undefined> {
    const { providerId } = githubEndpoint(readSettings());
    const result = await resolveGitHubToken(
      {
        getSession: (opts) => Promise.resolve(vscode.authentication.getSession(providerId, ['repo'], opts)),
        storedToken: () => Promise.resolve(this.deps.secrets.get(GITHUB_TOKEN_KEY)),
        signInAvailable: hasGitHubSignIn({
          appName: vscode.env.appName,
          githubAuthExtension: Boolean(vscode.extensions.getExtension('vscode.github-authentication')),
        }),
      },
      interactive,
    );
    if (result.kind === 'token') {
      this.deps.log.info(
        `GitHub token from ${result.source === 'session' ? `the ${providerId} sign-in (${result.account ?? ''})` : 'SecretStorage'}`,
      );
      return result.token;
    }
    if (!interactive) return undefined;
    if (result.reason === 'no-provider') {
      // No GitHub sign-in here (code-server, VSCodium): straight to the token input, no detour through a sign-in that cannot work.
      await vscode.commands.executeCommand('kiroDelegate.setGitHubToken');
      return (await this.deps.secrets.get(GITHUB_TOKEN_KEY)) ?? undefined;
    }
    vscode.window.showErrorMessage('Kiro Delegate needs GitHub access to create the pull request. Sign in to GitHub and try again.');
    return undefined;
  }
}
