// The GitHub credential of one job, for its fetch, its push and its PR comment.
// With a GitHub App (KIRO_GITHUB_APP_ID + KIRO_GITHUB_APP_PRIVATE_KEY_FILE) each
// job gets its own installation token, limited to the job's repository and to
// contents + pull requests, and revoked when the job is over. With only
// KIRO_GITHUB_TOKEN every job shares that personal token. A token never reaches a
// log: JobCredential hides it from JSON and util.inspect.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { RequestError } from '@octokit/request-error';
import type { WorkerConfig } from '../config.js';

export interface JobCredential {
  readonly token: string | undefined;
  readonly kind: 'app' | 'token' | 'none';
  /** Revokes an installation token (DELETE /installation/token) or does nothing; never throws. */
  release(): Promise<void>;
}

export interface CredentialSource {
  readonly kind: 'app' | 'token' | 'none';
  /** A job's credential; `permissions` widens an App token for steering work (STEER_PERMISSIONS). */
  forRepository(owner: string, repo: string, permissions?: AppPermissions): Promise<JobCredential>;
  /**
   * A token to read pull requests and collaborators' permissions with (identity checks), never
   * a job's: with an App, one per installation with only `metadata` and `pull_requests: read`,
   * kept until shortly before it expires; undefined without credentials.
   */
  readToken(owner: string, repo: string): Promise<string | undefined>;
}

/** What the identity checks' installation token may do: read pull requests and who may write. */
export const CHECK_PERMISSIONS = { metadata: 'read', pull_requests: 'read' } as const;

/** What a job's installation token may do: push to the branch and comment on the PR. Nothing else. */
export const JOB_PERMISSIONS = { contents: 'write', pull_requests: 'write' } as const;

/**
 * What the worker's own work for a `/kiro` round needs (never the agent's): TASK.md and a new
 * branch, the PR, reactions on comments and issues, the "Kiro" check run.
 */
export const STEER_PERMISSIONS = { contents: 'write', pull_requests: 'write', issues: 'write', checks: 'write' } as const;

export type AppPermissions = Readonly<Record<string, 'read' | 'write'>>;

const USER_AGENT = 'kiro-delegate-worker';
/** No GitHub call may hold a job (or the service's shutdown) for longer. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface CredentialLog {
  warn(obj: object, msg: string): void;
}

export class CredentialError extends Error {
  constructor(
    readonly code: 'APP_NOT_INSTALLED' | 'APP_TOKEN_REFUSED' | 'APP_REQUEST_FAILED',
    message: string,
  ) {
    super(message);
  }
  static is(e: unknown): e is CredentialError {
    return e instanceof CredentialError;
  }
}

class Credential implements JobCredential {
  private released = false;

  constructor(
    readonly kind: JobCredential['kind'],
    readonly token: string | undefined,
    private readonly revoke?: () => Promise<void>,
  ) {}

  async release(): Promise<void> {
    if (this.released || !this.revoke) return;
    this.released = true;
    await this.revoke();
  }

  toJSON(): object {
    return { kind: this.kind, token: this.token ? '[REDACTED]' : undefined };
  }

  [inspect.custom](): string {
    return `JobCredential(${this.kind}${this.token ? ', token [REDACTED]' : ''})`;
  }
}

const NONE = new Credential('none', undefined);

function describe(e: unknown): string {
  // RequestError messages are GitHub's answer ("Not Found", "Bad credentials"); its
  // request (with the Authorization header) is never put into a message or a log.
  if (e instanceof RequestError) return `${e.status} ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

class AppCredentials implements CredentialSource {
  readonly kind = 'app';
  /** "owner/repo" (lower case) -> installation id. Tokens are never cached: one per job. */
  private readonly installations = new Map<string, number>();
  private readonly app: Octokit;

  constructor(
    appId: number,
    privateKey: string,
    private readonly apiUrl: string,
    private readonly log?: CredentialLog,
  ) {
    // The auth strategy signs a short-lived JWT for the /app and /repos/.../installation routes.
    this.app = new Octokit({ baseUrl: apiUrl, userAgent: USER_AGENT, authStrategy: createAppAuth, auth: { appId, privateKey } });
  }

  async forRepository(owner: string, repo: string, permissions: AppPermissions = JOB_PERMISSIONS): Promise<JobCredential> {
    const key = `${owner}/${repo}`.toLowerCase();
    const cached = this.installations.get(key);
    if (cached !== undefined) {
      try {
        return await this.tokenFor(cached, owner, repo, permissions);
      } catch (e) {
        // The App was reinstalled (new id) or removed since: look the installation up again, once.
        if (!(e instanceof RequestError) || e.status !== 404) throw this.failure(e, owner, repo, permissions);
        this.installations.delete(key);
      }
    }
    const id = await this.installationOf(owner, repo);
    this.installations.set(key, id);
    try {
      return await this.tokenFor(id, owner, repo, permissions);
    } catch (e) {
      throw this.failure(e, owner, repo, permissions);
    }
  }

  /** installation id -> its read token and when to stop using it. */
  private readonly readTokens = new Map<number, Promise<{ token: string; until: number }>>();

  async readToken(owner: string, repo: string): Promise<string> {
    const key = `${owner}/${repo}`.toLowerCase();
    let id = this.installations.get(key);
    if (id === undefined) {
      id = await this.installationOf(owner, repo);
      this.installations.set(key, id);
    }
    const cached = this.readTokens.get(id);
    const held = cached && (await cached.catch(() => undefined));
    if (held && held.until > Date.now()) return held.token;
    const installationId = id;
    const made = (async () => {
      const { data } = await this.app.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: installationId,
        permissions: { ...CHECK_PERMISSIONS },
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      });
      // Ten minutes of margin on its hour: a check never runs with a token about to lapse.
      return { token: data.token, until: Date.parse(data.expires_at) - 600_000 };
    })();
    this.readTokens.set(installationId, made);
    try {
      return (await made).token;
    } catch (e) {
      this.readTokens.delete(installationId);
      throw this.failure(e, owner, repo);
    }
  }

  private async installationOf(owner: string, repo: string): Promise<number> {
    try {
      const { data } = await this.app.request('GET /repos/{owner}/{repo}/installation', {
        owner,
        repo,
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      });
      return data.id;
    } catch (e) {
      if (e instanceof RequestError && e.status === 404) {
        throw new CredentialError(
          'APP_NOT_INSTALLED',
          `the GitHub App is not installed on ${owner}/${repo}; install it on the repository or its organisation`,
        );
      }
      throw new CredentialError('APP_REQUEST_FAILED', `could not find the GitHub App's installation on ${owner}/${repo}: ${describe(e)}`);
    }
  }

  private async tokenFor(installationId: number, owner: string, repo: string, permissions: AppPermissions): Promise<JobCredential> {
    const { data } = await this.app.request('POST /app/installations/{installation_id}/access_tokens', {
      installation_id: installationId,
      repositories: [repo],
      permissions: { ...permissions },
      request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
    });
    const token = data.token;
    return new Credential('app', token, async () => {
      try {
        const asInstallation = new Octokit({ baseUrl: this.apiUrl, userAgent: USER_AGENT, auth: token });
        await asInstallation.request('DELETE /installation/token', { request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) } });
      } catch (e) {
        // It expires within the hour anyway; say so rather than fail the job.
        this.log?.warn({ owner, repo, err: describe(e) }, "could not revoke the job's GitHub App token; it expires within an hour");
      }
    });
  }

  private failure(e: unknown, owner: string, repo: string, permissions: AppPermissions = JOB_PERMISSIONS): CredentialError {
    if (CredentialError.is(e)) return e;
    if (e instanceof RequestError && (e.status === 403 || e.status === 422)) {
      return new CredentialError(
        'APP_TOKEN_REFUSED',
        `GitHub refused a token for ${owner}/${repo} with ${Object.entries(permissions)
          .map(([k, v]) => `${k}: ${v}`)
          .join(' and ')} (${describe(e)}); give the App these permissions and access to the repository`,
      );
    }
    return new CredentialError('APP_REQUEST_FAILED', `could not create a GitHub App token for ${owner}/${repo}: ${describe(e)}`);
  }
}

/**
 * Where jobs get their GitHub credential: the App when it is configured (config.ts
 * refuses an App together with KIRO_GITHUB_TOKEN), else the personal token, else none.
 */
export function credentialSource(config: WorkerConfig, opts: { log?: CredentialLog } = {}): CredentialSource {
  if (config.githubAppId !== undefined && config.githubAppPrivateKeyFile) {
    return new AppCredentials(config.githubAppId, readFileSync(config.githubAppPrivateKeyFile, 'utf8'), config.githubApiUrl, opts.log);
  }
  if (config.githubToken) {
    const shared = new Credential('token', config.githubToken);
    return { kind: 'token', forRepository: async () => shared, readToken: async () => config.githubToken };
  }
  return { kind: 'none', forRepository: async () => NONE, readToken: async () => undefined };
}
