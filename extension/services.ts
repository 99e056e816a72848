// What the commands and views share: the log, the store, tokens, the GitHub and
// worker clients, the watcher. Built once in activate(); nothing here runs at start-up.
import * as vscode from 'vscode';
import type { GitHubClient } from './github/client.js';
import { DelegationStore, watchedJobIds } from './delegations/model.js';
import { PrWatcher, type WatchEvent } from './github/watcher.js';
import { WorkerApi } from './worker/client.js';
import { WorkerEventStream } from './worker/eventStream.js';
import { WorkerAuth } from './worker/session.js';
import { syncFromWorker } from './delegations/remote.js';
import { GitHubSignIn } from './auth/githubSignIn.js';
import { PlainHttpConsent, type Verdict } from './auth/plainHttpConsent.js';
import { WORKER_TOKEN_KEY } from './auth/secretKeys.js';
import type { PoolSlots } from '../shared/protocol.js';
import { githubEndpoint, readSettings } from './settings.js';

// Their old home: kept so callers need not change.
export { WORKER_TOKEN_KEY, GITHUB_TOKEN_KEY, PLAIN_HTTP_ORIGINS_KEY } from './auth/secretKeys.js';

export class Services implements vscode.Disposable {
  readonly store: DelegationStore;
  readonly watcher: PrWatcher;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly consent: PlainHttpConsent;
  private readonly signIn: GitHubSignIn;
  /** The worker's credentials (mode, session), kept while the worker URL stays the same. */
  private auth: { url: string; auth: WorkerAuth } | undefined;
  private syncing: Promise<string | undefined> | undefined;
  private lastSyncError: string | undefined;
  private readonly onNotify = new vscode.EventEmitter<WatchEvent>();
  readonly onWatchEvent = this.onNotify.event;
  private readonly slotsEmitter = new vscode.EventEmitter<PoolSlots>();
  /** Slot changes from the worker's live stream. */
  readonly onSlots = this.slotsEmitter.event;
  private readonly identityEmitter = new vscode.EventEmitter<void>();
  /** Another GitHub account, token or none (sign-in, sign-out, a pasted token). */
  readonly onGitHubIdentity = this.identityEmitter.event;
  /** The worker's live events while delegations are in flight (polling stands in when it is down). */
  readonly events: WorkerEventStream;

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.consent = new PlainHttpConsent(context.globalState, log);
    this.signIn = new GitHubSignIn({
      secrets: context.secrets,
      log,
      mayCarryCredentials: (url, what) => this.consent.mayCarryCredentials(url, what),
    });
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
        if (e.type === 'job')
          void this.watcher.applyJob(e.job).catch((err: unknown) => log.warn(`live event for job ${e.job.jobId}: ${String(err)}`));
        else this.slotsEmitter.fire(e.pool);
      },
      onConnected: (up) =>
        log.info(up ? 'live events from the worker: connected' : 'live events from the worker: disconnected; polling meanwhile'),
    });
    this.disposables.push(
      this.onNotify,
      this.slotsEmitter,
      this.identityEmitter,
      { dispose: () => this.events.dispose() },
      // The stream follows the jobs in flight: connects for the first, reconnects when the set changes, stops after the last.
      this.store.onDidChange(() => this.events.refresh()),
      { dispose: () => this.watcher.dispose() },
      // A new sign-in or sign-out invalidates the cached token (and so the worker session made from it).
      vscode.authentication.onDidChangeSessions(() => this.githubIdentityChanged()),
      vscode.window.onDidChangeWindowState((s) => s.focused && this.watcher.start()),
    );
  }

  /** The GitHub client, or undefined when there is no token (interactive: ask the user to sign in). */
  github(interactive: boolean): Promise<GitHubClient | undefined> {
    return this.signIn.client(interactive);
  }

  /** The user's GitHub login (token mode's "mine"), asked of GitHub once per token. */
  githubLogin(): Promise<string | undefined> {
    return this.signIn.login();
  }

  /** Whether a credential may go to `url` (plainHttpConsent.ts). */
  mayCarryCredentials(url: string, what: string): Promise<Verdict> {
    return this.consent.mayCarryCredentials(url, what);
  }

  /** "Retry" after a refused transport: ask again. */
  forgetDeclinedTransports(): void {
    this.consent.forgetDeclined();
  }

  /**
   * Another GitHub account (or none, or another pasted token): the token is asked again. The worker
   * session knows which token it was made from, and is not used with another.
   */
  githubIdentityChanged(): void {
    this.signIn.identityChanged();
    this.identityEmitter.fire();
  }

  /** Whether a GitHub token is known, asked silently (no sign-in prompt). */
  async githubTokenKnown(): Promise<boolean> {
    return Boolean(await this.signIn.tokenSilently());
  }

  /** The worker's credentials for this URL (one instance, so concurrent requests share one session exchange). */
  workerAuth(url: string): WorkerAuth {
    if (this.auth?.url !== url) {
      this.auth = {
        url,
        auth: new WorkerAuth({
          baseUrl: url,
          secrets: this.context.secrets,
          workerToken: () => Promise.resolve(this.context.secrets.get(WORKER_TOKEN_KEY)),
          githubToken: () => this.signIn.tokenSilently(),
          mayCarryCredentials: (u) => this.mayCarryCredentials(u, 'your Kiro worker token or GitHub token'),
          log: (m) => this.log.info(m),
        }),
      };
    }
    return this.auth.auth;
  }

  /**
   * Delegations from any machine: the worker's list of this user's jobs, merged into the
   * view (at start, and on refresh). A token worker lists everyone's: only this GitHub login's are taken.
   * Resolves to why it failed, if it did.
   */
  syncFromWorker(): Promise<string | undefined> {
    this.syncing ??= (async () => {
      const { workerUrl } = readSettings();
      const api = this.worker();
      if (!api) return 'no worker is configured (setting kiroDelegate.workerUrl)';
      const mode = await this.workerAuth(workerUrl).mode();
      const onlyLogin = mode === 'github' ? undefined : async () => (await this.githubLogin().catch(() => undefined)) ?? null;
      const { error } = await syncFromWorker({
        api,
        store: this.store,
        applyJob: (j) => this.watcher.applyJob(j),
        webUrl: githubEndpoint(readSettings()).webUrl,
        onlyLogin,
        log: (m) => this.log.info(m),
      });
      this.syncFailed(error);
      this.watcher.start();
      return error;
    })()
      .catch((e: unknown) => {
        this.syncFailed((e as Error).message);
        return (e as Error).message;
      })
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Asked every few seconds: a failure is logged when it starts or changes, not on every ask. */
  private syncFailed(error: string | undefined): void {
    if (error && error !== this.lastSyncError) this.log.warn(`listing your jobs on the worker failed: ${error}`);
    else if (!error && this.lastSyncError) this.log.info('listing your jobs on the worker works again');
    this.lastSyncError = error;
  }

  clearTokenCache(): void {
    this.signIn.clearTokenCache();
  }

  worker(): WorkerApi | undefined {
    const { workerUrl } = readSettings();
    if (!workerUrl) return undefined;
    return new WorkerApi({ baseUrl: workerUrl, credentials: this.workerAuth(workerUrl) });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
