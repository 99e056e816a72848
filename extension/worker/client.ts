// HTTP client for the worker service. Plain fetch (Node 20 and VS Code have it);
// every outcome is a value the caller can act on, never a thrown string.
import type { GenerateCodeRequest, JobAccepted, JobList, JobStatus, PoolHealth, ErrorBody } from '../../shared/protocol.js';
import { staticToken, unreachableMessage, WorkerAuthError, type WorkerCredentials } from './credentials.js';

export type SubmitOutcome =
  | { kind: 'accepted'; jobId: string; position: number }
  | { kind: 'busy'; retryAfterSeconds: number; message: string }
  /** A per-user limit (429 QUOTA_EXCEEDED): the worker's words, and when to try again. Never retried blindly. */
  | { kind: 'quota'; retryAfterSeconds: number | undefined; code: string; message: string }
  /** `code`: the worker's (UNAUTHORIZED), or why no credential could be sent (WorkerAuthErrorCode). */
  | { kind: 'unauthorized'; code: string; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'rejected'; status: number; code: string; message: string };

export type HealthOutcome =
  { kind: 'ok'; health: PoolHealth } | { kind: 'unauthorized'; code?: string; message: string } | { kind: 'unreachable'; message: string };

export type JobListOutcome = { kind: 'ok'; list: JobList } | { kind: 'error'; message: string };

export interface WorkerApiOptions {
  baseUrl: string;
  /** Who the client is to the worker (worker/session.ts). */
  credentials?: WorkerCredentials;
  /** A fixed worker token, when there are no `credentials`. */
  token?: () => Promise<string | undefined>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Retry-After as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

export class WorkerApi {
  private readonly fetchImpl: typeof fetch;
  private readonly credentials: WorkerCredentials;
  constructor(private readonly opts: WorkerApiOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.credentials = opts.credentials ?? staticToken(opts.token ?? (async () => undefined));
  }

  get baseUrl(): string {
    return this.opts.baseUrl.replace(/\/+$/, '');
  }

  /**
   * One request with the credential; a 401 gets one retry when the credentials have a
   * fresher one (a renewed session). Throws WorkerAuthError when no credential could be
   * had, and fetch's errors when the worker is unreachable. Never follows a redirect: a
   * credential goes to the configured worker and nowhere else.
   */
  private async send(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const attempt = (authorization: string | undefined) =>
      this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...init.headers,
          ...(authorization ? { authorization } : {}),
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
        body: init.body ? JSON.stringify(init.body) : undefined,
        redirect: 'error',
        signal: init.signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    const sent = await this.credentials.authorization();
    const res = await attempt(sent);
    if (res.status !== 401) return res;
    const body = (await res
      .clone()
      .json()
      .catch(() => ({}))) as Partial<ErrorBody>;
    const fresh = await this.credentials.retryAfter401(sent, body.code);
    if (fresh === undefined || fresh === sent) return res;
    await res.body?.cancel().catch(() => undefined);
    return attempt(fresh);
  }

  private unreachable(e: unknown): { kind: 'unreachable'; message: string } {
    return { kind: 'unreachable', message: unreachableMessage(this.baseUrl, e) };
  }

  /** A refusal in the user's words: the worker's 401, or why no credential was sent. */
  private refused(e: WorkerAuthError | Partial<ErrorBody>): { code: string; message: string } {
    return WorkerAuthError.is(e) ? { code: e.code, message: e.message } : this.credentials.refusal(e);
  }

  async submit(req: GenerateCodeRequest): Promise<SubmitOutcome> {
    let res: Response;
    try {
      res = await this.send('POST', '/generate-code', { body: req });
    } catch (e) {
      if (WorkerAuthError.is(e))
        return e.code === 'UNREACHABLE' ? { kind: 'unreachable', message: e.message } : { kind: 'unauthorized', ...this.refused(e) };
      return this.unreachable(e);
    }
    const json = (await res.json().catch(() => ({}))) as Partial<JobAccepted & ErrorBody>;
    if (res.status === 202 || res.status === 200) return { kind: 'accepted', jobId: json.jobId ?? '', position: json.position ?? 0 };
    if (res.status === 503)
      return {
        kind: 'busy',
        retryAfterSeconds: Math.max(1, Number(res.headers.get('retry-after')) || 30),
        message: json.message ?? 'the worker is busy',
      };
    if (res.status === 429)
      return {
        kind: 'quota',
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
        code: json.code ?? 'QUOTA_EXCEEDED',
        message: json.message ?? 'the worker refused more work from you for now',
      };
    if (res.status === 401) return { kind: 'unauthorized', ...this.refused(json) };
    return { kind: 'rejected', status: res.status, code: json.code ?? 'ERROR', message: json.message ?? `HTTP ${res.status}` };
  }

  async health(): Promise<HealthOutcome> {
    try {
      const res = await this.send('GET', '/health');
      if (res.status === 401) return { kind: 'unauthorized', ...this.refused((await res.json().catch(() => ({}))) as Partial<ErrorBody>) };
      if (!res.ok) return { kind: 'unreachable', message: `The Kiro worker answered HTTP ${res.status}.` };
      return { kind: 'ok', health: (await res.json()) as PoolHealth };
    } catch (e) {
      if (WorkerAuthError.is(e) && e.code !== 'UNREACHABLE') return { kind: 'unauthorized', ...this.refused(e) };
      return WorkerAuthError.is(e) ? { kind: 'unreachable', message: e.message } : this.unreachable(e);
    }
  }

  /** The job's terminal output from byte `offset` (a long-lived response: no time limit, the caller aborts). */
  async openLog(id: string, offset: number, signal: AbortSignal): Promise<Response> {
    return this.send('GET', `/jobs/${encodeURIComponent(id)}/log?offset=${offset}`, { signal });
  }

  /** The worker's live events for these jobs (Server-Sent Events; long-lived, the caller aborts). */
  async openEvents(jobIds: readonly string[], lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
    return this.send('GET', `/events?jobs=${jobIds.map(encodeURIComponent).join(',')}`, { headers, signal });
  }

  /** Cancels a queued or running job; the job as the worker then reports it. */
  async cancel(id: string): Promise<{ kind: 'ok'; job: JobStatus } | { kind: 'error'; message: string }> {
    try {
      const res = await this.send('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
      const json = (await res.json().catch(() => ({}))) as Partial<JobStatus & ErrorBody>;
      if (res.ok) return { kind: 'ok', job: json as JobStatus };
      if (res.status === 401) return { kind: 'error', message: this.refused(json).message };
      return { kind: 'error', message: json.message ?? `the worker answered HTTP ${res.status}` };
    } catch (e) {
      return { kind: 'error', message: WorkerAuthError.is(e) ? e.message : this.unreachable(e).message };
    }
  }

  async job(id: string): Promise<JobStatus | undefined> {
    try {
      const res = await this.send('GET', `/jobs/${encodeURIComponent(id)}`);
      return res.ok ? ((await res.json()) as JobStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  /** One page of the caller's jobs (GET /jobs?mine=1), newest first. */
  async listMine(cursor?: string, limit?: number): Promise<JobListOutcome> {
    const query = new URLSearchParams({ mine: '1', ...(cursor ? { cursor } : {}), ...(limit ? { limit: String(limit) } : {}) });
    try {
      const res = await this.send('GET', `/jobs?${query.toString()}`);
      const json = (await res.json().catch(() => ({}))) as Partial<JobList & ErrorBody>;
      if (res.ok && Array.isArray(json.jobs))
        return { kind: 'ok', list: { jobs: json.jobs, nextCursor: typeof json.nextCursor === 'string' ? json.nextCursor : null } };
      if (res.status === 401) return { kind: 'error', message: this.refused(json).message };
      // An older worker has no list: GET /jobs is not a route there.
      return {
        kind: 'error',
        message:
          res.status === 404
            ? 'this worker cannot list jobs (an older version)'
            : (json.message ?? `the worker answered HTTP ${res.status}`),
      };
    } catch (e) {
      return { kind: 'error', message: WorkerAuthError.is(e) ? e.message : this.unreachable(e).message };
    }
  }
}

export interface SendOptions {
  /** Called while the worker is busy and we wait to try again. */
  onWaiting?: (retryAfterSeconds: number, attempt: number) => void;
  sleep?: (ms: number) => Promise<void>;
  maxAttempts?: number;
  /** Stop waiting (window closing). */
  signal?: AbortSignal;
}

/**
 * Sends a job, waiting out 503s as the worker's Retry-After says (with growing
 * backoff as a floor). The idempotency key makes every retry safe.
 */
export async function sendJob(api: WorkerApi, req: GenerateCodeRequest, opts: SendOptions = {}): Promise<SubmitOutcome> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const max = opts.maxAttempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    const outcome = await api.submit(req);
    if (outcome.kind !== 'busy' || attempt >= max || opts.signal?.aborted) return outcome;
    const waitS = Math.min(300, Math.max(outcome.retryAfterSeconds, 2 ** Math.min(attempt, 8)));
    opts.onWaiting?.(waitS, attempt);
    await sleep(waitS * 1000);
  }
}
