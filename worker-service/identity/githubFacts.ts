// What the authorization rules need to know from GitHub, fetched with the worker's own
// credential and kept for at most `ttlMs` (60 s): a user's permission on a repository, a
// pull request's state, head and base. Whose a GitHub token is (a session exchange) is
// asked with that token and never kept. Answers are checked like request bodies.
import { Octokit } from '@octokit/core';
import { RequestError } from '@octokit/request-error';
import { isValidBranchName, isValidOwner } from '../../shared/names.js';
import { CredentialError, type CredentialSource } from '../github/credentials.js';
import type { RepoPermission } from './access.js';

const USER_AGENT = 'kiro-delegate-worker';
const REQUEST_TIMEOUT_MS = 10_000;

export interface PullFacts {
  state: 'open' | 'closed';
  /** The head branch, and the repository it lives in (`owner/name`, lower case; null: deleted fork). */
  head: string;
  headRepo: string | null;
  base: string;
  defaultBranch: string;
}

export interface GitHubUser {
  login: string;
  type: string;
}

export class GitHubFactsError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

function describe(e: unknown): string {
  if (e instanceof RequestError) return `${e.status} ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

const PERMISSIONS = new Set<RepoPermission>(['admin', 'maintain', 'write', 'triage', 'read', 'none']);

/** GitHub's `permission` is one of four legacy levels; `role_name` tells maintain and triage apart. */
export function permissionOf(data: unknown): RepoPermission {
  const d = (data ?? {}) as { permission?: unknown; role_name?: unknown };
  const role = typeof d.role_name === 'string' ? d.role_name.toLowerCase() : '';
  if (PERMISSIONS.has(role as RepoPermission)) return role as RepoPermission;
  const legacy = typeof d.permission === 'string' ? d.permission.toLowerCase() : '';
  // A custom role: no more than its legacy level says.
  return PERMISSIONS.has(legacy as RepoPermission) ? (legacy as RepoPermission) : 'none';
}

export function pullFactsOf(data: unknown): PullFacts {
  const d = (data ?? {}) as {
    state?: unknown;
    head?: { ref?: unknown; repo?: { full_name?: unknown } | null };
    base?: { ref?: unknown; repo?: { default_branch?: unknown } };
  };
  const state = d.state === 'open' || d.state === 'closed' ? d.state : undefined;
  const head = typeof d.head?.ref === 'string' ? d.head.ref : undefined;
  const base = typeof d.base?.ref === 'string' ? d.base.ref : undefined;
  const defaultBranch = typeof d.base?.repo?.default_branch === 'string' ? d.base.repo.default_branch : undefined;
  const headRepo =
    d.head?.repo === null ? null : typeof d.head?.repo?.full_name === 'string' ? d.head.repo.full_name.toLowerCase() : undefined;
  if (!state || head === undefined || base === undefined || defaultBranch === undefined || headRepo === undefined)
    throw new GitHubFactsError('GitHub answered a pull request without its state, head or base', 502);
  return { state, head, headRepo, base, defaultBranch };
}

interface Entry<T> {
  value: Promise<T>;
  until: number;
}

export class GitHubFacts {
  private readonly cache = new Map<string, Entry<unknown>>();

  constructor(
    private readonly apiUrl: string,
    private readonly credentials: CredentialSource,
    private readonly ttlMs = 60_000,
    private readonly now = Date.now,
  ) {}

  /** Whether the worker can ask GitHub at all (it has a credential). */
  get available(): boolean {
    return this.credentials.kind !== 'none';
  }

  /** Whether a permission answer for these is at hand (no question to GitHub). */
  hasPermission(owner: string, repo: string, login: string): boolean {
    const hit = this.cache.get(`perm:${owner}/${repo}:${login}`.toLowerCase());
    return !!hit && hit.until > this.now();
  }

  /** `fresh`: ask GitHub again, whatever is cached (right before a push). */
  permission(owner: string, repo: string, login: string, fresh = false): Promise<RepoPermission> {
    const key = `perm:${owner}/${repo}:${login}`.toLowerCase();
    if (fresh) this.cache.delete(key);
    return this.cached(key, async () => {
      try {
        const { data } = await (
          await this.client(owner, repo)
        ).request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', {
          owner,
          repo,
          username: login,
          request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
        });
        return permissionOf(data);
      } catch (e) {
        // Not a collaborator of a repository the worker sees (GitHub answers 404 for an unknown user too).
        if (e instanceof RequestError && e.status === 404) return 'none';
        if (CredentialError.is(e)) throw e;
        throw new GitHubFactsError(
          `could not ask GitHub for ${login}'s permission on ${owner}/${repo}: ${describe(e)}`,
          e instanceof RequestError ? e.status : undefined,
        );
      }
    });
  }

  /** The pull request, or null when GitHub knows none by that number. `fresh`: ask again, whatever is cached. */
  pull(owner: string, repo: string, number: number, fresh = false): Promise<PullFacts | null> {
    const key = `pull:${owner}/${repo}#${number}`.toLowerCase();
    if (fresh) this.cache.delete(key);
    return this.cached(key, async () => {
      try {
        const { data } = await (
          await this.client(owner, repo)
        ).request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
          owner,
          repo,
          pull_number: number,
          request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
        });
        return pullFactsOf(data);
      } catch (e) {
        if (e instanceof RequestError && e.status === 404) return null;
        if (e instanceof GitHubFactsError || CredentialError.is(e)) throw e;
        throw new GitHubFactsError(
          `could not read pull request #${number} of ${owner}/${repo}: ${describe(e)}`,
          e instanceof RequestError ? e.status : undefined,
        );
      }
    });
  }

  /** GET /user with the user's own token: whose it is, or null when GitHub refuses it. Never cached, never kept. */
  async user(token: string): Promise<GitHubUser | null> {
    try {
      const { data } = await new Octokit({ baseUrl: this.apiUrl, userAgent: USER_AGENT, auth: token }).request('GET /user', {
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      });
      const login = (data as { login?: unknown }).login;
      const type = (data as { type?: unknown }).type;
      if (typeof login !== 'string' || !isValidOwner(login.replace(/\[bot\]$/, '')))
        throw new GitHubFactsError('GitHub answered GET /user without a valid login', 502);
      return { login, type: typeof type === 'string' ? type : 'User' };
    } catch (e) {
      if (e instanceof RequestError && (e.status === 401 || e.status === 403)) return null;
      if (e instanceof GitHubFactsError) throw e;
      throw new GitHubFactsError(
        `could not ask GitHub whose the token is: ${describe(e)}`,
        e instanceof RequestError ? e.status : undefined,
      );
    }
  }

  private async client(owner: string, repo: string): Promise<Octokit> {
    const token = await this.credentials.readToken(owner, repo);
    if (!token) throw new GitHubFactsError('the worker has no GitHub credential to check with', undefined);
    return new Octokit({ baseUrl: this.apiUrl, userAgent: USER_AGENT, auth: token });
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key) as Entry<T> | undefined;
    if (hit && hit.until > this.now()) return hit.value;
    const value = load();
    this.cache.set(key, { value, until: this.now() + this.ttlMs });
    // A failure is not kept: the next request asks again.
    value.catch(() => this.cache.delete(key));
    if (this.cache.size > 10_000) for (const [k, e] of this.cache) if (e.until <= this.now()) this.cache.delete(k);
    return value;
  }
}

/** A branch the worker may push to: valid, under the prefix. */
export function underPrefix(branch: string, prefix: string): boolean {
  return isValidBranchName(branch) && branch.startsWith(prefix) && branch.length > prefix.length;
}
