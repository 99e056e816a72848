// What the commands and views share: the log, the store, tokens, the GitHub and
// worker clients, the watcher. Built once in activate(); nothing here runs at start-up.
import * as vscode from 'vscode';
import { hasGitHubSignIn, resolveGitHubToken } from './auth/githubToken.js';
import type { GitHubClient } from './github/client.js';
import { DelegationStore, watchedJobIds } from './delegations/model.js';
import { PrWatcher, type WatchEvent } from './github/watcher.js';
import { WorkerApi } from './worker/client.js';
import { WorkerEventStream } from './worker/eventStream.js';
import { WorkerAuth } from './worker/session.js';
import { syncFromWorker } from './delegations/remote.js';
import { plainHttpWarning, transportDecision } from './auth/trust.js';
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
/** globalState: the origins the user agreed to send credentials to over plain HTTP. */
export const PLAIN_HTTP_ORIGINS_KEY = 'kiroDelegate.plainHttpOrigins';
type Verdict = { ok: true } | { ok: false; message: string };

export class Services implements vscode.Disposable {
  readonly store: DelegationStore;
  readonly watcher: PrWatcher;
  private readonly disposables: vscode.Disposable[] = [];
  private cachedToken: string | undefined;
  /** The worker's credentials (mode, session), kept while the worker URL stays the same. */
  private auth: { url: string; auth: WorkerAuth } | undefined;
  /** Plain-HTTP origins the user said no to in this window (not asked again until they retry). */
  private readonly declined = new Set<string>();
  private readonly asking = new Map<string, Promise<boolean>>();
  private viewer: { token: string; login: string } | undefined;
  private syncing: Promise<void> | undefined;
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
      // A new sign-in or sign-out invalidates the cached token (and so the worker session made from it).
      vscode.authentication.onDidChangeSessions(() => this.githubIdentityChanged()),
      vscode.window.onDidChangeWindowState((s) => s.focused && this.watcher.start()),
    );
  }

  /** The GitHub client, or undefined when there is no token (interactive: ask the user to sign in). */
  async github(interactive: boolean): Promise<GitHubClient | undefined> {
    const token = this.cachedToken ?? (await this.githubToken(interactive));
    if (!token) return undefined;
    this.cachedToken = token;
    const { apiUrl } = githubEndpoint(readSettings());
    const verdict = await this.mayCarryCredentials(apiUrl, 'your GitHub token');
    if (!verdict.ok) {
      this.log.warn(verdict.message);
      if (interactive) void vscode.window.showErrorMessage(verdict.message);
      return undefined;
    }
    return loadClient().createGitHubClient({ token, baseUrl: apiUrl, onRetry: (what, s) => this.log.warn(`GitHub asked to slow down (${what}); retrying in ${s} s`) });
  }

  /** The GitHub token without any prompt (for the worker's session exchange): a signed-in user is asked nothing. */
  private async githubTokenSilently(): Promise<string | undefined> {
    this.cachedToken ??= await this.githubToken(false);
    return this.cachedToken;
  }

  /** The user's GitHub login (token mode's "mine"), asked of GitHub once per token. */
  async githubLogin(): Promise<string | undefined> {
    const github = await this.github(false);
    const token = this.cachedToken;
    if (!github || !token) return undefined;
    if (this.viewer?.token !== token) this.viewer = { token, login: (await github.rest.users.getAuthenticated()).data.login };
    return this.viewer.login;
  }

  /**
   * Whether a credential may go to `url`: https, or plain http to this machine, at once;
   * plain http to another machine only once the user agreed for exactly that origin (a
   * modal that names the risk, asked once however many requests wait; a yes is remembered).
   */
  async mayCarryCredentials(url: string, what: string): Promise<Verdict> {
    const decision = transportDecision(url, this.context.globalState.get<string[]>(PLAIN_HTTP_ORIGINS_KEY) ?? []);
    if (decision.kind === 'send') return { ok: true };
    if (decision.kind === 'refuse') return { ok: false, message: `Kiro did not send ${what}: ${decision.reason}.` };
    const { origin } = decision;
    const no: Verdict = { ok: false, message: `Kiro did not send ${what} to ${origin}: that is plain HTTP to another machine, and you did not agree to it. Use an https:// address, or retry and agree.` };
    if (this.declined.has(origin)) return no;
    let asking = this.asking.get(origin);
    if (!asking) {
      asking = this.askPlainHttp(origin, what).finally(() => this.asking.delete(origin));
      this.asking.set(origin, asking);
    }
    return (await asking) ? { ok: true } : no;
  }

  private async askPlainHttp(origin: string, what: string): Promise<boolean> {
    const w = plainHttpWarning(origin, what);
    const pick = await vscode.window.showWarningMessage(w.message, { modal: true, detail: w.detail }, w.agree);
    if (pick !== w.agree) {
      this.declined.add(origin);
      this.log.warn(`credentials not sent to ${origin}: plain HTTP, and the user did not agree`);
      return false;
    }
    const agreed = this.context.globalState.get<string[]>(PLAIN_HTTP_ORIGINS_KEY) ?? [];
    await this.context.globalState.update(PLAIN_HTTP_ORIGINS_KEY, [...new Set([...agreed, origin])]);
    this.log.info(`the user agreed to send credentials to ${origin} over plain HTTP`);
    return true;
  }

  /** "Retry" after a refused transport: ask again. */
  forgetDeclinedTransports(): void {
    this.declined.clear();
  }

  /**
   * Another GitHub account (or none, or another pasted token): the token is asked again. The worker
   * session knows which token it was made from, and is not used with another.
   */
  githubIdentityChanged(): void {
    this.cachedToken = undefined;
    this.viewer = undefined;
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
          githubToken: () => this.githubTokenSilently(),
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
   */
  syncFromWorker(): Promise<void> {
    this.syncing ??= (async () => {
      const { workerUrl } = readSettings();
      const api = this.worker();
      if (!api) return;
      const mode = await this.workerAuth(workerUrl).mode();
      const onlyLogin = mode === 'github' ? undefined : async () => (await this.githubLogin().catch(() => undefined)) ?? null;
      await syncFromWorker({ api, store: this.store, applyJob: (j) => this.watcher.applyJob(j), webUrl: githubEndpoint(readSettings()).webUrl, onlyLogin, log: (m) => this.log.info(m) });
      this.watcher.start();
    })().catch((e: unknown) => this.log.warn(`listing your jobs on the worker failed: ${(e as Error).message}`)).finally(() => (this.syncing = undefined));
    return this.syncing;
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
    return new WorkerApi({ baseUrl: workerUrl, credentials: this.workerAuth(workerUrl) });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
