// The PR's preparing query, asked while the delegation form is open so that a
// submit needs only the mutation document (one round trip; createPr.ts). The form
// reports its owner, repository and base branch as they change; after a pause in
// typing (300 ms) the query runs in the background, silently: only with a token
// already available, errors only logged. Answers are kept by owner/repo/base with
// the time they were asked, and serve a submit for at most a minute. While the user
// keeps typing, an answer older than 20 s is asked again, so a form filled in over
// several minutes still submits warm. An answer is only given back to the same
// account on the same GitHub host (another account's permission and login, or
// another server's repository id, would be wrong).
import { createHash } from 'node:crypto';
import { isValidBranchName, isValidOwner, isValidRepo } from '../../shared/names.js';
import type { GitHubClient } from './client.js';
import { prepareRepo } from './createPr.js';
import { isPreparedFresh, PREPARED_MAX_AGE_MS, type PreparedRepo, type RepoKey } from './preparedRepo.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PrefetchDeps {
  /** The GitHub client when a token is already available; never prompts (undefined: nothing is asked). */
  github: () => Promise<GitHubClient | undefined>;
  now?: () => number;
  timers?: Timers;
  /** Pause in typing before asking; default 300 ms. */
  debounceMs?: number;
  /** Age after which a change in the form asks again; default 20 s. */
  refreshAfterMs?: number;
  /** Age after which an answer no longer serves a submit; default PREPARED_MAX_AGE_MS (60 s). */
  maxAgeMs?: number;
  /** The query; default prepareRepo (tests count calls with their own). */
  ask?: (client: GitHubClient, key: RepoKey, now: () => number) => Promise<PreparedRepo>;
  log?: (message: string) => void;
}

interface Entry {
  prepared: PreparedRepo;
  account: string;
}

const MAX_ENTRIES = 16;

/** Which account on which GitHub host a client speaks for: its API URL and a hash of its token. */
export async function accountOf(client: GitHubClient): Promise<string> {
  const auth = (await client.auth()) as { token?: string };
  const token = createHash('sha256')
    .update(auth.token ?? '')
    .digest('hex')
    .slice(0, 16);
  return `${client.request.endpoint.DEFAULTS.baseUrl} ${token}`;
}

function keyOf(k: RepoKey): string {
  return JSON.stringify([k.owner.toLowerCase(), k.repo.toLowerCase(), k.baseBranch]);
}

function normalised(k: RepoKey): RepoKey | undefined {
  const key = { owner: k.owner.trim(), repo: k.repo.trim(), baseBranch: k.baseBranch.trim() };
  return isValidOwner(key.owner) && isValidRepo(key.repo) && isValidBranchName(key.baseBranch) ? key : undefined;
}

export class PrepareCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: unknown;
  private readonly now: () => number;
  private readonly timers: Timers;
  private disposed = false;

  constructor(private readonly deps: PrefetchDeps) {
    this.now = deps.now ?? Date.now;
    this.timers = deps.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /**
   * The form shows these values (opened, or a field changed). Asks for them after a pause
   * unless an answer younger than refreshAfterMs is kept or on its way; the last values win.
   */
  schedule(values: RepoKey): void {
    if (this.disposed) return;
    this.cancelTimer();
    const key = normalised(values);
    if (!key) return;
    const id = keyOf(key);
    const kept = this.entries.get(id);
    if (this.inFlight.has(id) || (kept && this.age(kept) >= 0 && this.age(kept) < (this.deps.refreshAfterMs ?? 20_000))) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.fetch(key);
    }, this.deps.debounceMs ?? 300);
  }

  /**
   * A fresh answer for this client's account, repository and base, for a submit. A query
   * for them already on its way is waited for (less than the round trip a cold submit
   * adds); one still waiting for the pause in typing is dropped: the submit asks itself.
   */
  async lookup(client: GitHubClient, values: RepoKey): Promise<PreparedRepo | undefined> {
    const key = normalised(values);
    if (!key) return undefined;
    const id = keyOf(key);
    this.cancelTimer();
    await this.inFlight.get(id);
    const entry = this.entries.get(id);
    if (!entry || !isPreparedFresh(entry.prepared, key, this.now(), this.deps.maxAgeMs ?? PREPARED_MAX_AGE_MS)) return undefined;
    return entry.account === (await accountOf(client)) ? entry.prepared : undefined;
  }

  /** Drops the answer for these values: a submit that used it failed, so the next one asks afresh. */
  forget(values: RepoKey): void {
    const key = normalised(values);
    if (key) this.entries.delete(keyOf(key));
  }

  /** Settles when no query is on its way (for tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  dispose(): void {
    this.disposed = true;
    this.cancelTimer();
    this.entries.clear();
  }

  private age(e: Entry): number {
    return this.now() - e.prepared.fetchedAt;
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fetch(key: RepoKey): Promise<void> {
    const id = keyOf(key);
    const run = (async () => {
      try {
        const client = await this.deps.github();
        if (!client || this.disposed) return;
        const [prepared, account] = await Promise.all([(this.deps.ask ?? prepareRepo)(client, key, this.now), accountOf(client)]);
        if (this.disposed) return;
        this.entries.delete(id); // re-inserted last: the map's order is the answers' age
        this.entries.set(id, { prepared, account });
        for (const [k, e] of this.entries) {
          if (this.entries.size <= MAX_ENTRIES && this.age(e) <= (this.deps.maxAgeMs ?? PREPARED_MAX_AGE_MS)) break;
          this.entries.delete(k);
        }
      } catch (e) {
        // A repository or branch being typed, a network hiccup: the submit asks again and reports it.
        this.entries.delete(id);
        this.deps.log?.(`preparing ${key.owner}/${key.repo} (${key.baseBranch}) ahead of submit failed: ${(e as Error).message}`);
      }
    })().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, run);
    return run;
  }
}
