// What the team sees on GitHub of a round started there: 👀 on the comment, review comments
// or issue once the job is accepted, then 🚀 when it pushed or 😕 when it failed; the "Kiro"
// check run (an App) or commit status (a personal token: the Checks API takes only Apps)
// queued → in progress → completed with the summary comment's words; and for a review, a
// reply in each addressed thread naming the commit. The host running the job tells GitHub;
// best effort: a failing call is logged, never fails the job.
import type { JobStatus } from '../../shared/protocol.js';
import { isFinalState } from '../../shared/jobStates.js';
import type { CredentialSource } from '../github/credentials.js';
import { STEER_PERMISSIONS } from '../github/credentials.js';
import { commentBody } from '../github/comments.js';
import { openInVsCodeUrl } from '../github/jobLink.js';
import type { Job } from '../jobs/job.js';
import type { JobService } from '../queue/service.js';
import { describe, SteeringGitHub, type CheckConclusion, type Reaction } from './github.js';
import type { SteeredJob, SteeringStore } from './store.js';

export interface FeedbackLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const CONCLUSION: Record<string, CheckConclusion> = {
  succeeded: 'success',
  'no-changes': 'neutral',
  failed: 'failure',
  'timed-out': 'failure',
  cancelled: 'cancelled',
};
const STATUS_STATE = {
  succeeded: 'success',
  'no-changes': 'success',
  failed: 'failure',
  'timed-out': 'failure',
  cancelled: 'error',
} as const;
const TITLE: Record<string, string> = {
  succeeded: 'Kiro pushed its changes',
  'no-changes': 'Kiro made no changes',
  failed: 'Kiro failed',
  'timed-out': 'Kiro timed out',
  cancelled: 'Kiro was cancelled',
};

/** The job as the summary comment's renderer takes it, from its public status. */
function jobOf(s: JobStatus): Job {
  return {
    id: s.jobId,
    scopeKey: '',
    state: s.state,
    attempts: s.attempts,
    slotId: s.slotId,
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    exitCode: s.exitCode,
    signal: s.signal,
    commitSha: s.commitSha,
    error: s.error,
    outputTail: s.outputTail,
    changes: s.changes ?? null,
    summary: s.summary ?? null,
    usage: s.usage ?? null,
    blocked: s.blocked ?? null,
    request: {
      owner: s.owner,
      repo: s.repo,
      branch: s.branch,
      prNumber: s.prNumber,
      baseBranch: '',
      title: s.title,
      taskDescription: '',
      idempotencyKey: 'status',
    },
  };
}

export class Feedback {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      store: SteeringStore;
      credentials: CredentialSource;
      apiUrl: string;
      webUrl: string;
      log: FeedbackLog;
      self?: string;
    },
  ) {}

  /** Tells GitHub of every steered job's changes that this host runs (or, embedded, all). */
  observe(jobs: JobService): void {
    this.jobs = jobs;
    jobs.on('job', (status) => this.enqueue(status));
  }

  private jobs: JobService | undefined;

  /** One job's changes are told in order, each after the one before. */
  private enqueue(status: JobStatus): void {
    const prev = this.chains.get(status.jobId) ?? Promise.resolve();
    const next = prev
      .then(() => this.onJob(status))
      .catch((e: unknown) => this.deps.log.warn({ jobId: status.jobId, err: describe(e) }, 'could not tell GitHub of a steered job'));
    this.chains.set(status.jobId, next);
    void next.finally(() => this.chains.get(status.jobId) === next && this.chains.delete(status.jobId));
  }

  /** Waits for what is being told (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }

  /** Right after the job was queued: 👀 and a queued check run (or pending status) on `sha`. */
  async accepted(s: SteeredJob, gh: SteeringGitHub, appToken: boolean, sha: string): Promise<void> {
    await this.react(gh, s, 'eyes');
    const url = openInVsCodeUrl(s.jobId);
    try {
      if (appToken) s.check = { kind: 'check-run', id: await gh.createCheckRun(sha, url, s.jobId), sha };
      else {
        await gh.status(sha, 'pending', 'Kiro is queued for this round', url);
        s.check = { kind: 'status', sha };
      }
    } catch (e) {
      this.deps.log.warn({ jobId: s.jobId, err: describe(e) }, 'could not create the Kiro check on GitHub');
    }
    await this.deps.store.save(s);
    // The job may have started (or ended) before its record was kept: what it is now is told now.
    const now = await this.jobs?.status(s.jobId);
    if (now) this.enqueue(now);
  }

  async react(gh: SteeringGitHub, s: Pick<SteeredJob, 'reactTo' | 'jobId'>, content: Reaction): Promise<void> {
    await Promise.all(
      s.reactTo.map((t) =>
        gh
          .react(t, content)
          .catch((e: unknown) =>
            this.deps.log.warn({ jobId: s.jobId, target: t, err: describe(e) }, `could not react ${content} on GitHub`),
          ),
      ),
    );
  }

  private async onJob(status: JobStatus): Promise<void> {
    const final = isFinalState(status.state);
    if (!final && status.state !== 'running') return;
    // A fleet: the host that runs (or ran) the job tells GitHub; the others only hear of it.
    if (this.deps.self && status.host && status.host !== this.deps.self) return;
    const s = await this.deps.store.get(status.jobId);
    if (!s || s.finishedTold || (!final && s.startedTold)) return;
    if (final) s.finishedTold = true;
    s.startedTold = true;
    // Recorded before GitHub is told, so that a repeated event never tells twice.
    await this.deps.store.save(s);
    const cred = await this.deps.credentials.forRepository(s.owner, s.repo, STEER_PERMISSIONS);
    try {
      if (!cred.token) return;
      const gh = new SteeringGitHub(this.deps.apiUrl, cred.token, s.owner, s.repo);
      if (final) await this.finished(gh, s, status);
      else if (s.check?.kind === 'check-run') await gh.updateCheckRun(s.check.id, { status: 'in_progress' });
      else if (s.check?.kind === 'status')
        await gh.status(s.check.sha, 'pending', 'Kiro is working on this round', openInVsCodeUrl(s.jobId));
    } finally {
      await cred.release();
    }
  }

  private async finished(gh: SteeringGitHub, s: SteeredJob, status: JobStatus): Promise<void> {
    const log = this.deps.log;
    const url = openInVsCodeUrl(s.jobId);
    const pushed = status.state === 'succeeded' && status.commitSha ? status.commitSha : null;
    const output = { title: TITLE[status.state] ?? `Kiro: ${status.state}`, summary: commentBody(jobOf(status)).slice(0, 65_000) };
    const told = async (what: string, call: () => Promise<void>) =>
      call().catch((e: unknown) => log.warn({ jobId: s.jobId, err: describe(e) }, `could not ${what} on GitHub`));
    if (s.check?.kind === 'check-run') {
      const conclusion = CONCLUSION[status.state] ?? 'failure';
      const check = s.check;
      await told('complete the Kiro check run', () => gh.updateCheckRun(check.id, { status: 'completed', conclusion, output }));
      // The PR's checks show its head's: the agent's commit gets the run's outcome too.
      if (pushed && pushed !== check.sha)
        await told('add the Kiro check run to the pushed commit', () => gh.completedCheckRun(pushed, url, s.jobId, conclusion, output));
    } else if (s.check?.kind === 'status') {
      const state = STATUS_STATE[status.state as keyof typeof STATUS_STATE] ?? 'error';
      const words =
        status.state === 'succeeded'
          ? `Kiro pushed ${status.commitSha?.slice(0, 7) ?? ''}`.trim()
          : status.error
            ? `${output.title}: ${status.error.code}`
            : output.title;
      const check = s.check;
      await told('set the Kiro status', () => gh.status(check.sha, state, words, url));
      if (pushed && pushed !== check.sha)
        await told('set the Kiro status on the pushed commit', () => gh.status(pushed, state, words, url));
    }
    if (pushed) {
      await this.react(gh, s, 'rocket');
      const commitUrl = `${this.deps.webUrl}/${s.owner}/${s.repo}/commit/${pushed}`;
      await Promise.all(
        s.threads.map((t) =>
          told('reply in a review thread', () => gh.reply(s.prNumber, t.commentId, `Addressed in ${pushed.slice(0, 12)} (${commitUrl}).`)),
        ),
      );
    } else if (status.state === 'failed' || status.state === 'timed-out') {
      await this.react(gh, s, 'confused');
    }
    log.info({ jobId: s.jobId, state: status.state }, 'GitHub told of a steered round');
  }
}
