// Who the extension is to the worker. The worker's GET /healthz says how it wants
// callers to authenticate: `token` (one shared worker token, from SecretStorage; also
// an older worker that does not say) or `github` (KIRO_AUTH=github: the user's GitHub
// token is exchanged, once, at POST /auth/github for a signed worker session, which
// every other request then carries). The session is kept in SecretStorage per worker
// URL, renewed before it lapses, and renewed once more when the worker answers 401.
// The GitHub token goes nowhere but the body of POST <worker>/auth/github.
// Plain TypeScript: SecretStorage, the GitHub token and the transport check come in as functions.
import { createHash } from 'node:crypto';
import type { ErrorBody } from '../../shared/protocol.js';
import { TOKEN_REFUSAL, unreachableMessage, WorkerAuthError, type WorkerAuthMode, type WorkerCredentials } from './credentials.js';

/** The subset of vscode.SecretStorage used here. */
export interface SecretsLike {
  get(key: string): Thenable<string | undefined> | Promise<string | undefined>;
  store(key: string, value: string): Thenable<void> | Promise<void>;
  delete(key: string): Thenable<void> | Promise<void>;
}

/** A worker session as kept: the worker's answer, and when it lapses by this machine's clock. */
export interface StoredSession {
  token: string;
  login: string;
  /** The worker's expiresAt, as it said it. */
  expiresAt: string;
  /** When it was obtained and when it lapses, in this machine's milliseconds (a skewed clock does not matter). */
  obtainedAt: number;
  expiresLocal: number;
  /** Which GitHub token it was made from (a hash, never the token): another account's token makes a new session. */
  githubKey?: string;
}

/** A short hash naming a GitHub token without holding it. */
export const githubKeyOf = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 16);

export const MIN_RENEW_MARGIN_MS = 5 * 60_000;

/**
 * When a session is renewed: once less than a tenth of its life or five minutes is
 * left, whichever comes first; a session shorter than ten minutes is still used for
 * at least half its life (else every request would exchange again).
 */
export function renewAt(s: Pick<StoredSession, 'obtainedAt' | 'expiresLocal'>): number {
  const life = Math.max(0, s.expiresLocal - s.obtainedAt);
  const margin = Math.min(Math.max(life * 0.1, MIN_RENEW_MARGIN_MS), life / 2);
  return s.expiresLocal - margin;
}

/** The SecretStorage key of a worker's session: one per worker URL. */
export function sessionSecretKey(baseUrl: string): string {
  return `kiroDelegate.workerSession:${baseUrl.replace(/\/+$/, '')}`;
}

export interface WorkerAuthDeps {
  baseUrl: string;
  fetch?: typeof fetch;
  /** The shared worker token (token mode), from SecretStorage. */
  workerToken(): Promise<string | undefined>;
  /** The user's GitHub token, asked silently: a signed-in user sees no prompt. */
  githubToken(): Promise<string | undefined>;
  secrets: SecretsLike;
  /** May a credential go to this URL (the transport check, asking the user where needed)? */
  mayCarryCredentials(url: string): Promise<{ ok: true } | { ok: false; message: string }>;
  now?(): number;
  timeoutMs?: number;
  log?(message: string): void;
}

/** A refused GitHub token is not offered again for this long (the status bar asks every 30 s). */
const REFUSAL_MEMORY_MS = 60_000;
/** After a failed early renewal, the old (still valid) session is used this long before trying again. */
const RENEW_RETRY_MS = 30_000;

export class WorkerAuth implements WorkerCredentials {
  private readonly fetchImpl: typeof fetch;
  private probing: Promise<WorkerAuthMode> | undefined;
  private known: WorkerAuthMode | undefined;
  private current: StoredSession | undefined;
  private loaded = false;
  private exchanging: Promise<StoredSession> | undefined;
  private refused: { token: string; at: number; error: WorkerAuthError } | undefined;
  private renewFailedAt = -Infinity;
  /** How many exchanges were made (tests; the log). */
  exchanges = 0;

  constructor(private readonly d: WorkerAuthDeps) {
    this.fetchImpl = d.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.d.baseUrl.replace(/\/+$/, '');
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /** How the worker wants callers to authenticate (asked once; again after a 401). */
  mode(): Promise<WorkerAuthMode> {
    if (this.known) return Promise.resolve(this.known);
    return this.probe();
  }

  /** The verified login of the current session (github mode), if there is one. */
  get login(): string | undefined {
    return this.known === 'github' ? this.current?.login : undefined;
  }

  private probe(): Promise<WorkerAuthMode> {
    this.probing ??= (async () => {
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.baseUrl}/healthz`, {
          redirect: 'error',
          signal: AbortSignal.timeout(this.d.timeoutMs ?? 10_000),
        });
      } catch (e) {
        throw new WorkerAuthError('UNREACHABLE', unreachableMessage(this.baseUrl, e));
      }
      const body = (await res.json().catch(() => ({}))) as { auth?: unknown };
      // An older worker says nothing: it is a token worker.
      const mode: WorkerAuthMode = res.ok && body.auth === 'github' ? 'github' : 'token';
      if (this.known && this.known !== mode)
        this.d.log?.(
          `the Kiro worker at ${this.baseUrl} now authenticates with ${mode === 'github' ? 'GitHub sessions' : 'the worker token'}`,
        );
      this.known = mode;
      return mode;
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  async authorization(): Promise<string | undefined> {
    const mode = await this.mode();
    if (mode === 'token') {
      const token = await this.d.workerToken();
      if (!token) return undefined;
      await this.checkTransport();
      return `Bearer ${token}`;
    }
    // A session is a credential too: it goes where the GitHub token was allowed to go, and nowhere else.
    await this.checkTransport();
    return `Bearer ${(await this.session()).token}`;
  }

  async retryAfter401(sent: string | undefined, _code: string | undefined): Promise<string | undefined> {
    // The worker may have restarted in another mode: ask again (one probe for all the 401s arriving together).
    const before = this.known;
    const mode = await this.probe().catch(() => before ?? 'token');
    if (mode === 'token') return before === 'github' ? this.authorization() : undefined;
    // github: the session sent was refused (expired, forged, the worker's key rotated). Drop it, unless another
    // request already replaced it, and exchange again: requests refused together share one exchange.
    if (!this.loaded) await this.load();
    if (this.current && (sent === undefined || `Bearer ${this.current.token}` === sent)) await this.drop();
    const fresh = this.current ?? (await this.exchange());
    return `Bearer ${fresh.token}`;
  }

  refusal(body: Partial<ErrorBody>): { code: string; message: string } {
    if (this.known !== 'github') return { code: body.code ?? 'UNAUTHORIZED', message: TOKEN_REFUSAL };
    return {
      code: body.code ?? 'UNAUTHORIZED',
      message: `The Kiro worker at ${this.baseUrl} refused your session${body.message ? ` (${body.message})` : ''}. Sign in to GitHub again (Accounts menu), or run "Kiro: Set GitHub Token".`,
    };
  }

  private async checkTransport(): Promise<void> {
    const verdict = await this.d.mayCarryCredentials(this.baseUrl);
    if (!verdict.ok) throw new WorkerAuthError('INSECURE_TRANSPORT', verdict.message);
  }

  private async load(): Promise<void> {
    this.loaded = true;
    const raw = await Promise.resolve(this.d.secrets.get(sessionSecretKey(this.baseUrl))).catch(() => undefined);
    if (!raw || this.current) return;
    try {
      const s = JSON.parse(raw) as StoredSession;
      if (typeof s.token === 'string' && typeof s.expiresLocal === 'number' && typeof s.obtainedAt === 'number') this.current = s;
    } catch {
      /* a damaged entry is as good as none */
    }
  }

  private async drop(): Promise<void> {
    this.current = undefined;
    await Promise.resolve(this.d.secrets.delete(sessionSecretKey(this.baseUrl))).catch(() => undefined);
  }

  /** The session to send now: the kept one, renewed first when it is due. */
  private async session(): Promise<StoredSession> {
    if (!this.loaded) await this.load();
    let s = this.current;
    // Made from another GitHub token (the user signed in as someone else, pasted another token): not theirs.
    if (s?.githubKey) {
      const github = await this.d.githubToken();
      if (!github || githubKeyOf(github) !== s.githubKey) {
        await this.drop();
        s = undefined;
      }
    }
    const now = this.now();
    if (s && now < s.expiresLocal) {
      if (now < renewAt(s) || now - this.renewFailedAt < RENEW_RETRY_MS) return s;
      try {
        return await this.exchange();
      } catch (e) {
        // Still valid: keep using it, and try renewing again a little later.
        this.renewFailedAt = this.now();
        this.d.log?.(`renewing the Kiro worker session failed (${(e as Error).message}); the current one lasts until ${s.expiresAt}`);
        if (this.current === s && this.now() < s.expiresLocal) return s;
        throw e;
      }
    }
    return this.exchange();
  }

  private exchange(): Promise<StoredSession> {
    this.exchanging ??= this.doExchange().finally(() => (this.exchanging = undefined));
    return this.exchanging;
  }

  private async doExchange(): Promise<StoredSession> {
    await this.checkTransport();
    const github = await this.d.githubToken();
    if (!github) {
      throw new WorkerAuthError(
        'NO_GITHUB_TOKEN',
        `The Kiro worker at ${this.baseUrl} signs you in with your GitHub account, and this editor has none: sign in to GitHub (Accounts menu), or run "Kiro: Set GitHub Token".`,
      );
    }
    const refused = this.refused;
    if (refused && refused.token === github && this.now() - refused.at < REFUSAL_MEMORY_MS) throw refused.error;
    this.exchanges++;
    const obtainedAt = this.now();
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}/auth/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: github }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.d.timeoutMs ?? 15_000),
      });
    } catch (e) {
      throw new WorkerAuthError('UNREACHABLE', unreachableMessage(this.baseUrl, e));
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    const text = (k: string) => (typeof body[k] === 'string' ? body[k] : undefined);
    if (res.status === 401) {
      const error = new WorkerAuthError(
        'GITHUB_TOKEN_REFUSED',
        `The Kiro worker at ${this.baseUrl} could not confirm who you are with GitHub${text('message') ? ` (${text('message')})` : ''}. Sign out of GitHub and in again (Accounts menu), or run "Kiro: Set GitHub Token" with a token that is valid for this GitHub.`,
      );
      this.refused = { token: github, at: this.now(), error };
      throw error;
    }
    const token = text('token');
    const login = text('login');
    const expiresAt = text('expiresAt');
    const expires = expiresAt ? Date.parse(expiresAt) : NaN;
    if (!res.ok || !token || !login || !expiresAt || !Number.isFinite(expires)) {
      throw new WorkerAuthError(
        'SESSION_FAILED',
        `The Kiro worker at ${this.baseUrl} did not open a session (HTTP ${res.status}${text('message') ? `: ${text('message')}` : ''}).`,
      );
    }
    this.refused = undefined;
    // The session's life by the worker's clock (its Date header), counted on ours.
    const serverNow = Date.parse(res.headers.get('date') ?? '');
    const life = Math.max(0, expires - (Number.isFinite(serverNow) ? serverNow : obtainedAt));
    const s: StoredSession = { token, login, expiresAt, obtainedAt, expiresLocal: obtainedAt + life, githubKey: githubKeyOf(github) };
    this.current = s;
    this.renewFailedAt = -Infinity;
    await Promise.resolve(this.d.secrets.store(sessionSecretKey(this.baseUrl), JSON.stringify(s))).catch(() => undefined);
    this.d.log?.(`Kiro worker session for ${login} until ${expiresAt}`);
    return s;
  }
}
