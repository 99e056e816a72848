// What the commands and views share: the log, the store, tokens, the GitHub and
// worker clients, the watcher. Built once in activate(); nothing here runs at start-up.
import * as vscode from 'vscode';
import { hasGitHubSignIn, resolveGitHubToken } from './auth/githubToken.js';
import type { GitHubClient } from './github/client.js';
import { DelegationStore, watchedJobIds } from './delegations/model.js';
import { PrWatcher, type WatchEvent } from './github/watcher.js';
import { WorkerApi } from './worker/client.js';
import { WorkerEventStream } from './worker/eventStream.js';
import type { PoolSlots } from '../shared/protocol.js';
import { githubEndpoint, readSettings } from './settings.js';

// Octokit is most of the extension's code: it lives in its own file (dist/github-client.js,
// built from github/client.ts) and loads when GitHub is first needed, not at activation.
let clientModule: typeof import('./github/client.js') | undefined;
function loadClient(): typeof import('./github/client.js') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deliberate lazy load of a separate bundle
  clientModule ??= require('./github-client.js') as typeof import('./github/client.js');
  return clientModule;
}

export const WORKER_TOKEN_KEY = 'kiroDelegate.workerToken';
export const GITHUB_TOKEN_KEY = 'kiroDelegate.githubToken';

export class Services implements vscode.Disposable {
  readonly store: DelegationStore;
  readonly watcher: PrWatcher;
  private readonly disposables: vscode.Disposable[] = [];
  private cachedToken: string | undefined;
  private readonly onNotify = new vscode.EventEmitter<WatchEvent>();
  readonly onWatchEvent = this.onNotify.event;
  private readonly slotsEmitter = new vscode.EventEmitter<PoolSlots>();
  /** Slot changes from the worker's live stream. */
  readonly onSlots = this.slotsEmitter.event;
  /** The worker's live events while delegations are in flight (polling stands in when it is down). */
  readonly events: WorkerEventStream;

  constructor(readonly context: vscode.ExtensionContext, readonly log: vscode.LogOutputChannel) {
    this.store = new DelegationStore(context.globalState);
    this.watcher = new PrWatcher({
      store: this.store,
      github: () => this.github(false),
      worker: () => this.worker(),
      notify: (e) => this.onNotify.fire(e),
      isFocused: () => vscode.window.state.focused,
      intervalMs: readSettings().pollIntervalMs,
      log: (m) => log.warn(m),
    });
    this.events = new WorkerEventStream({
      source: () => this.worker(),
      jobIds: () => this.store.active().flatMap((d) => watchedJobIds(d)),
      onEvent: (e) => {
        if (e.type === 'job') void this.watcher.applyJob(e.job).catch((err: unknown) => log.warn(`live event for job ${e.job.jobId}: ${String(err)}`));
        else this.slotsEmitter.fire(e.pool);
      },
      onConnected: (up) => log.info(up ? 'live events from the worker: connected' : 'live events from the worker: disconnected; polling meanwhile'),
    });
    this.disposables.push(
      this.onNotify,
      this.slotsEmitter,
      { dispose: () => this.events.dispose() },
      // The stream follows the jobs in flight: connects for the first, reconnects when the set changes, stops after the last.
      this.store.onDidChange(() => this.events.refresh()),
      { dispose: () => this.watcher.dispose() },
      // A new sign-in or sign-out invalidates the cached token.
      vscode.authentication.onDidChangeSessions(() => (this.cachedToken = undefined)),
      vscode.window.onDidChangeWindowState((s) => s.focused && this.watcher.start()),
    );
  }

  /** The GitHub client, or undefined when there is no token (interactive: ask the user to sign in). */
  async github(interactive: boolean): Promise<GitHubClient | undefined> {
    const token = this.cachedToken ?? (await this.githubToken(interactive));
    if (!token) return undefined;
    this.cachedToken = token;
    return loadClient().createGitHubClient({ token, baseUrl: githubEndpoint(readSettings()).apiUrl, onRetry: (what, s) => this.log.warn(`GitHub asked to slow down (${what}); retrying in ${s} s`) });
  }

  private async githubToken(interactive: boolean): Promise<string | undefined> {
    const { providerId } = githubEndpoint(readSettings());
    const result = await resolveGitHubToken({
      getSession: (opts) => Promise.resolve(vscode.authentication.getSession(providerId, ['repo'], opts)),
      storedToken: () => Promise.resolve(this.context.secrets.get(GITHUB_TOKEN_KEY)),
      signInAvailable: hasGitHubSignIn({ appName: vscode.env.appName, githubAuthExtension: Boolean(vscode.extensions.getExtension('vscode.github-authentication')) }),
    }, interactive);
    if (result.kind === 'token') {
      this.log.info(`GitHub token from ${result.source === 'session' ? `the ${providerId} sign-in (${result.account ?? ''})` : 'SecretStorage'}`);
      return result.token;
    }
    if (!interactive) return undefined;
    if (result.reason === 'no-provider') {
      // No GitHub sign-in here (code-server, VSCodium): straight to the token input, no detour through a sign-in that cannot work.
      await vscode.commands.executeCommand('kiroDelegate.setGitHubToken');
      return (await this.context.secrets.get(GITHUB_TOKEN_KEY)) ?? undefined;
    }
    vscode.window.showErrorMessage('Kiro Delegate needs GitHub access to create the pull request. Sign in to GitHub and try again.');
    return undefined;
  }

  clearTokenCache(): void {
    this.cachedToken = undefined;
  }

  worker(): WorkerApi | undefined {
    const { workerUrl } = readSettings();
    if (!workerUrl) return undefined;
    return new WorkerApi({ baseUrl: workerUrl, token: () => Promise.resolve(this.context.secrets.get(WORKER_TOKEN_KEY)) });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
