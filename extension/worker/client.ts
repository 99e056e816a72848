// HTTP client for the worker service. Plain fetch (Node 20 and VS Code have it);
// every outcome is a value the caller can act on, never a thrown string.
import type { GenerateCodeRequest, JobAccepted, JobStatus, PoolHealth, ErrorBody } from '../../shared/protocol.js';

export type SubmitOutcome =
  | { kind: 'accepted'; jobId: string; position: number }
  | { kind: 'busy'; retryAfterSeconds: number; message: string }
  | { kind: 'unauthorized'; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'rejected'; status: number; code: string; message: string };

export type HealthOutcome =
  | { kind: 'ok'; health: PoolHealth }
  | { kind: 'unauthorized'; message: string }
  | { kind: 'unreachable'; message: string };

export interface WorkerApiOptions {
  baseUrl: string;
  token: () => Promise<string | undefined>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class WorkerApi {
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly opts: WorkerApiOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.opts.baseUrl.replace(/\/+$/, '');
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const token = await this.opts.token();
    return this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
  }

  private unreachable(e: unknown): { kind: 'unreachable'; message: string } {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { kind: 'unreachable', message: `The Kiro worker at ${this.baseUrl} is unreachable (${cause ?? (e as Error).message}).` };
  }

  async submit(req: GenerateCodeRequest): Promise<SubmitOutcome> {
    let res: Response;
    try {
      res = await this.call('POST', '/generate-code', req);
    } catch (e) {
      return this.unreachable(e);
    }
    const json = (await res.json().catch(() => ({}))) as Partial<JobAccepted & ErrorBody>;
    if (res.status === 202 || res.status === 200) return { kind: 'accepted', jobId: json.jobId ?? '', position: json.position ?? 0 };
    if (res.status === 503) return { kind: 'busy', retryAfterSeconds: Math.max(1, Number(res.headers.get('retry-after')) || 30), message: json.message ?? 'the worker is busy' };
    if (res.status === 401) return { kind: 'unauthorized', message: 'The Kiro worker refused the token. Set the worker token (Kiro: Set Worker Token).' };
    return { kind: 'rejected', status: res.status, code: json.code ?? 'ERROR', message: json.message ?? `HTTP ${res.status}` };
  }

  async health(): Promise<HealthOutcome> {
    try {
      const res = await this.call('GET', '/health');
      if (res.status === 401) return { kind: 'unauthorized', message: 'The Kiro worker refused the token.' };
      if (!res.ok) return { kind: 'unreachable', message: `The Kiro worker answered HTTP ${res.status}.` };
      return { kind: 'ok', health: (await res.json()) as PoolHealth };
    } catch (e) {
      return this.unreachable(e);
    }
  }

  /** The job's terminal output from byte `offset` (a long-lived response: no time limit, the caller aborts). */
  async openLog(id: string, offset: number, signal: AbortSignal): Promise<Response> {
    const token = await this.opts.token();
    return this.fetchImpl(`${this.baseUrl}/jobs/${encodeURIComponent(id)}/log?offset=${offset}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
  }

  /** The worker's live events for these jobs (Server-Sent Events; long-lived, the caller aborts). */
  async openEvents(jobIds: readonly string[], lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const token = await this.opts.token();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
    return this.fetchImpl(`${this.baseUrl}/events?jobs=${jobIds.map(encodeURIComponent).join(',')}`, { headers, signal });
  }

  /** Cancels a queued or running job; the job as the worker then reports it. */
  async cancel(id: string): Promise<{ kind: 'ok'; job: JobStatus } | { kind: 'error'; message: string }> {
    try {
      const res = await this.call('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
      const json = (await res.json().catch(() => ({}))) as Partial<JobStatus & ErrorBody>;
      if (res.ok) return { kind: 'ok', job: json as JobStatus };
      if (res.status === 401) return { kind: 'error', message: 'The Kiro worker refused the token. Set the worker token (Kiro: Set Worker Token).' };
      return { kind: 'error', message: json.message ?? `the worker answered HTTP ${res.status}` };
    } catch (e) {
      return { kind: 'error', message: this.unreachable(e).message };
    }
  }

  async job(id: string): Promise<JobStatus | undefined> {
    try {
      const res = await this.call('GET', `/jobs/${encodeURIComponent(id)}`);
      return res.ok ? ((await res.json()) as JobStatus) : undefined;
    } catch {
      return undefined;
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
