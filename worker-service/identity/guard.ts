// Every route's one place to ask "may this caller do this?": the rules of pullRules.ts
// (every mode) and access.ts (github mode) over the facts of githubFacts.ts, the per-user
// quotas, and the audit record of what was decided.
import type { FastifyRequest } from 'fastify';
import type { GenerateCodeRequest, JobStatus } from '../../shared/protocol.js';
import type { AuditRecord } from '../../shared/audit.js';
import type { IdentityConfig } from '../config.js';
import { CredentialError } from '../github/credentials.js';
import { WorkerError } from '../errors.js';
import { decide, type Action } from './access.js';
import type { AuditStore } from './audit.js';
import { callerName, sameLogin, type Caller } from './caller.js';
import { GitHubFactsError, type GitHubFacts } from './githubFacts.js';
import { branchRefusal, pullRefusal } from './pullRules.js';

/** What the quotas ask of the jobs; queue/service.ts's JobService answers it (identity/ does not depend on queue/). */
export interface JobCounts {
  byRequester(login: string, opts: { limit: number; sinceMs?: number }): Promise<{ jobs: JobStatus[] }>;
  unfinished(): Promise<JobStatus[]>;
}

export class QuotaError extends WorkerError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('QUOTA_EXCEEDED', message, 429);
  }
}

/** Who asks: a request (a route), or its likeness for work started by a webhook delivery. */
export type Asker = Pick<FastifyRequest, 'caller' | 'id' | 'ip'>;

interface GuardLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const startOfUtcDay = (ms: number) => ms - (ms % 86_400_000);
/** After this many refusals within the window, a user's questions about repositories not yet answered wait. */
const MAX_REFUSALS = 5;
const REFUSAL_WINDOW_MS = 10 * 60_000;

export class Guard {
  /** Submits accepted by this process whose jobs are not yet counted by the queue (two at once must not both pass a quota). */
  private readonly pending = new Map<string, number>();
  /**
   * Per login, when GitHub last refused them a repository: each refusal cost a question on the
   * worker's own credential (its hourly budget is everyone's pushes), so after a few in a
   * while, questions about repositories not already answered wait.
   */
  private readonly refusals = new Map<string, number[]>();
  /** Per login, questions about not-yet-answered repositories under way (they count against the budget until answered). */
  private readonly asking = new Map<string, number>();

  constructor(
    private readonly identity: IdentityConfig,
    private readonly facts: GitHubFacts,
    private readonly jobs: JobCounts,
    private readonly audit: AuditStore,
    private readonly log: GuardLog,
    private readonly now = Date.now,
  ) {}

  /**
   * Checks a submit (or a new round) and returns the request to queue: its requestedBy
   * the verified login in github mode. Throws a WorkerError, audited, when refused.
   * `release` must be called once the request is queued or failed.
   */
  async admit(
    req: Asker,
    body: GenerateCodeRequest,
    opts: { quotaHeld?: boolean } = {},
  ): Promise<{ request: GenerateCodeRequest; release: () => void }> {
    const caller = this.callerOf(req);
    try {
      const refusal = branchRefusal(body.branch, this.identity.branchPrefix);
      if (refusal) throw refusal;
      let request = body;
      if (caller.kind === 'user') {
        if (body.requestedBy !== undefined && !sameLogin(body.requestedBy, caller.login)) {
          throw new WorkerError(
            'BAD_REQUEST',
            `requestedBy names ${body.requestedBy}, but you are signed in as ${caller.login}; leave it out`,
            400,
            'requestedBy',
          );
        }
        request = { ...body, requestedBy: caller.login };
        const answered = this.refusalBudget(caller.login, body.owner, body.repo);
        let permission;
        try {
          permission = await this.ask(() => this.facts.permission(body.owner, body.repo, caller.login));
        } finally {
          answered();
        }
        if (decide(caller, 'submit', { permission, isRequester: false }) !== 'allow') {
          this.refused(caller.login);
          throw new WorkerError(
            'FORBIDDEN',
            `${caller.login} may not write to ${body.owner}/${body.repo}: delegating needs write permission on the repository`,
            403,
            'repo',
          );
        }
      }
      if (this.facts.available) {
        const pr = await this.ask(() => this.facts.pull(body.owner, body.repo, body.prNumber));
        const bad = pullRefusal(body, pr);
        if (bad) throw bad;
      }
      const release = caller.kind === 'user' && !opts.quotaHeld ? await this.reserve(caller.login) : () => undefined;
      return { request, release };
    } catch (e) {
      if (WorkerError.is(e)) await this.record(req, 'submit', { outcome: 'refused', code: e.code, ...where(body) });
      throw e;
    }
  }

  /**
   * A user's quotas, held before work that must not be half-done (an issue's branch and PR
   * are made before its job is admitted with `quotaHeld`). Throws a QuotaError; returns the release.
   */
  reserveQuota(login: string): Promise<() => void> {
    return this.reserve(login);
  }

  /** Whether the caller may see the job (GET, log, events, health): not-found otherwise, as if it did not exist. */
  async mayRead(caller: Caller | undefined, job: Pick<JobStatus, 'owner' | 'repo' | 'requestedBy'>): Promise<boolean> {
    return (await this.decideOn(caller, 'read', job)) === 'allow';
  }

  /** A reader's filter for many jobs (the event stream): one permission question per repository, cached. */
  readFilter(caller: Caller | undefined): (job: Pick<JobStatus, 'owner' | 'repo' | 'requestedBy'>) => Promise<boolean> {
    if (caller?.kind === 'admin') return async () => true;
    return (job) => this.mayRead(caller, job);
  }

  /** Throws 404 or 403 (audited) unless the caller may cancel the job. */
  async mayCancel(req: Asker, job: JobStatus): Promise<void> {
    const d = await this.decideOn(req.caller, 'cancel', job);
    if (d === 'allow') return;
    const e =
      d === 'not-found'
        ? new WorkerError('NOT_FOUND', `no job ${job.jobId}`, 404)
        : new WorkerError(
            'FORBIDDEN',
            `only the job's requester or a user with write permission on ${job.owner}/${job.repo} may cancel it`,
            403,
          );
    await this.record(req, 'cancel', { outcome: 'refused', code: e.code, ...where(job), jobId: job.jobId });
    throw e;
  }

  /** One audit record: a log line and a durable entry. Never throws (a full disk must not fail a cancel). */
  async record(req: Asker, action: AuditRecord['action'], rest: Partial<AuditRecord> & Pick<AuditRecord, 'outcome'>): Promise<void> {
    const record: AuditRecord = {
      time: new Date(this.now()).toISOString(),
      caller: callerName(req.caller),
      action,
      requestId: String(req.id),
      ip: req.ip,
      ...rest,
    };
    this.log.info({ audit: true, ...record }, `audit: ${action} ${record.outcome}`);
    await this.audit.append(record).catch((e: unknown) => this.log.warn({ err: String(e) }, 'could not keep an audit record'));
  }

  private recentRefusals(login: string): number[] {
    const since = this.now() - REFUSAL_WINDOW_MS;
    const kept = (this.refusals.get(login.toLowerCase()) ?? []).filter((t) => t > since);
    if (kept.length > 0) this.refusals.set(login.toLowerCase(), kept);
    else this.refusals.delete(login.toLowerCase());
    return kept;
  }

  /** Throws 429 once a login's refusals (and questions under way) reach the budget; returns what to call once answered. */
  private refusalBudget(login: string, owner: string, repo: string): () => void {
    if (this.facts.hasPermission(owner, repo, login)) return () => undefined;
    const key = login.toLowerCase();
    const recent = this.recentRefusals(login);
    const underWay = this.asking.get(key) ?? 0;
    if (recent.length + underWay < MAX_REFUSALS) {
      this.asking.set(key, underWay + 1);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const left = (this.asking.get(key) ?? 1) - 1;
        if (left > 0) this.asking.set(key, left);
        else this.asking.delete(key);
      };
    }
    if (recent.length === 0)
      throw new QuotaError(
        `${underWay} questions to GitHub about your access to other repositories are under way; try again in a moment`,
        1,
      );
    const wait = Math.max(1, Math.ceil(((recent[0] ?? this.now()) + REFUSAL_WINDOW_MS - this.now()) / 1000));
    throw new QuotaError(
      `you were refused write access to ${recent.length} repositories in the last ${REFUSAL_WINDOW_MS / 60_000} minutes; questions about other repositories wait ${formatSeconds(wait)} (each costs the worker's GitHub budget)`,
      wait,
    );
  }

  private refused(login: string): void {
    this.refusals.set(login.toLowerCase(), [...this.recentRefusals(login), this.now()]);
    if (this.refusals.size > 10_000) for (const k of this.refusals.keys()) this.recentRefusals(k);
  }

  private callerOf(req: Asker): Caller {
    if (!req.caller) throw new WorkerError('UNAUTHORIZED', 'a valid bearer token is required', 401);
    return req.caller;
  }

  private async decideOn(caller: Caller | undefined, action: Action, job: Pick<JobStatus, 'owner' | 'repo' | 'requestedBy'>) {
    if (!caller) return 'not-found' as const;
    if (caller.kind === 'admin') return 'allow' as const;
    const isRequester = sameLogin(job.requestedBy, caller.login);
    // The requester reads and cancels their own job without a question to GitHub.
    if (isRequester) return decide(caller, action, { permission: 'none', isRequester });
    return decide(caller, action, {
      permission: await this.ask(() => this.facts.permission(job.owner, job.repo, caller.login)),
      isRequester,
    });
  }

  /** Per user: at most userMaxActive queued or running, userMaxJobsPerDay a day, userDailyTokens a day. */
  private async reserve(login: string): Promise<() => void> {
    const key = login.toLowerCase();
    const pending = this.pending.get(key) ?? 0;
    this.pending.set(key, pending + 1);
    const release = () => {
      const n = (this.pending.get(key) ?? 1) - 1;
      if (n > 0) this.pending.set(key, n);
      else this.pending.delete(key);
    };
    try {
      const now = this.now();
      const dayStart = startOfUtcDay(now);
      const untilMidnight = Math.ceil((dayStart + 86_400_000 - now) / 1000);
      const { maxActive, maxPerDay, dailyTokens } = {
        maxActive: this.identity.userMaxActive,
        maxPerDay: this.identity.userMaxJobsPerDay,
        dailyTokens: this.identity.userDailyTokens,
      };
      const today = await this.jobs.byRequester(login, { limit: maxPerDay + 1, sinceMs: dayStart });
      const active = (await this.jobs.unfinished()).filter((j) => sameLogin(j.requestedBy, login)).length + pending;
      if (active >= maxActive)
        throw new QuotaError(
          `${active} delegations of yours are in flight (at most ${maxActive}, KIRO_USER_MAX_ACTIVE); the next can start when one ends`,
          30,
        );
      if (today.jobs.length + pending >= maxPerDay)
        throw new QuotaError(
          `you have delegated ${maxPerDay} jobs today (KIRO_USER_MAX_JOBS_PER_DAY); the count starts again at midnight UTC, in ${formatSeconds(untilMidnight)}`,
          untilMidnight,
        );
      if (dailyTokens !== undefined) {
        const spent = today.jobs.reduce((n, j) => n + (j.usage ? j.usage.inputTokens + j.usage.outputTokens : 0), 0);
        if (spent >= dailyTokens)
          throw new QuotaError(
            `your jobs used ${spent.toLocaleString('en-US')} tokens today, the daily budget (KIRO_USER_DAILY_TOKENS) is ${dailyTokens.toLocaleString('en-US')}; it resets at midnight UTC, in ${formatSeconds(untilMidnight)}`,
            untilMidnight,
          );
      }
      return release;
    } catch (e) {
      release();
      throw e;
    }
  }

  /** A question to GitHub that failed is the worker's problem (502), not a refusal of the caller. */
  private async ask<T>(q: () => Promise<T>): Promise<T> {
    try {
      return await q();
    } catch (e) {
      // Not installed where asked: a refusal that names the fix, not a "try again".
      if (CredentialError.is(e)) throw new WorkerError('CREDENTIALS_FAILED', e.message, e.code === 'APP_NOT_INSTALLED' ? 403 : 502, 'repo');
      if (e instanceof GitHubFactsError) throw new WorkerError('GITHUB_UNAVAILABLE', `${e.message}; try again shortly`, 502);
      throw e;
    }
  }
}

function where(
  j: Pick<GenerateCodeRequest, 'owner' | 'repo' | 'branch' | 'prNumber'> | Pick<JobStatus, 'owner' | 'repo' | 'branch' | 'prNumber'>,
) {
  return { owner: j.owner, repo: j.repo, branch: j.branch, prNumber: j.prNumber };
}

function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.ceil((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}
