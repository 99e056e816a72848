// Watches delegated PRs until the agent's commit lands or the job ends.
// Polls the branch head (rest.git.getRef: GET .../git/ref/heads/<branch>) with If-None-Match, so
// an unchanged poll is a 304 that costs no rate limit (Octokit reports a 304 as
// an error; it is handled here). Polls slow down while the window is unfocused.
// State lives in the DelegationStore, so watching resumes after a reload.
import type { JobStatus } from '../../shared/protocol.js';
import { isFinalState } from '../../shared/jobStates.js';
import { ACTIVE, earlierActiveJobIds, type Delegation, type DelegationRound, type DelegationStore } from '../delegations/model.js';
import type { WorkerApi } from '../worker/client.js';
import type { GitHubClient } from './client.js';

export type WatchEvent =
  /** `summary`: the agent's final message, when the worker told it (a push seen only on the branch has none). */
  | { type: 'pushed'; delegation: Delegation; headOid: string; summary?: string }
  | { type: 'job-ended'; delegation: Delegation; job: JobStatus }
  | { type: 'closed'; delegation: Delegation; merged: boolean };

export interface WatcherDeps {
  store: DelegationStore;
  github: () => Promise<GitHubClient | undefined>;
  worker: () => WorkerApi | undefined;
  notify: (event: WatchEvent) => void;
  isFocused: () => boolean;
  intervalMs: number;
  unfocusedFactor?: number;
  /** Every Nth poll also checks whether the PR was closed or merged. */
  pullCheckEvery?: number;
  log?: (message: string) => void;
}

function status(e: unknown): number | undefined {
  const s = (e as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

export class PrWatcher {
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private polls = 0;
  private running: Promise<void> | undefined;

  /** Outcomes already told, claimed synchronously: an event and a poll racing for one round tell it once. */
  private readonly told = new Set<string>();

  constructor(private readonly deps: WatcherDeps) {}

  /** True the first time a round's outcome is claimed (a delegation told before a reload stays told). */
  private claim(d: Delegation): boolean {
    return !d.notified && this.claimRound(d.id, d.round ?? 1);
  }

  private claimRound(id: string, round: number): boolean {
    const key = `${id}#${round}`;
    if (this.told.has(key)) return false;
    this.told.add(key);
    return true;
  }

  /** Whether a poll is pending or running (none once nothing is left to watch). */
  get polling(): boolean {
    return this.timer !== undefined || this.running !== undefined;
  }

  /** Starts (or restarts) the poll chain; cheap to call whenever something changes. */
  start(delayMs = 0): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    if (this.deps.store.active().length === 0) return; // nothing to watch: no timer at all
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    await this.pollOnce();
    const factor = this.deps.isFocused() ? 1 : (this.deps.unfocusedFactor ?? 4);
    this.start(this.deps.intervalMs * factor);
  }

  /** One pass over every active delegation (tests call this directly). */
  pollOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    this.polls++;
    const github = await this.deps.github();
    for (const d of this.deps.store.active()) {
      try {
        const jobKnown = await this.pollJob(d);
        const fresh = this.deps.store.get(d.id);
        if (github && fresh && ACTIVE.has(fresh.state)) await this.pollBranch(github, fresh, jobKnown);
      } catch (e) {
        this.deps.log?.(`watching PR #${d.prNumber} failed this time: ${(e as Error).message}`);
      }
    }
  }

  /** Whether the worker answered for the job (then its state, not the branch, ends the round). */
  private async pollJob(d: Delegation): Promise<boolean> {
    const worker = this.deps.worker();
    if (!worker || !d.jobId) return false;
    // Earlier rounds still under way first: their end comes before this round's start.
    for (const id of earlierActiveJobIds(d)) {
      const earlier = await worker.job(id);
      if (earlier) await this.applyJob(earlier);
    }
    const job = await worker.job(d.jobId);
    if (job) await this.applyJob(job);
    return job !== undefined;
  }

  /**
   * A job's state, from a poll or from the worker's event stream: the delegation
   * follows it, and its end is told once. A push the worker reports is told at
   * once; the branch poll confirms it (and catches pushes by others).
   */
  async applyJob(job: JobStatus): Promise<void> {
    const all = this.deps.store.all();
    const d = all.find((x) => x.jobId === job.jobId);
    if (!d) {
      const earlier = all.find((x) => earlierActiveJobIds(x).includes(job.jobId));
      if (earlier) await this.applyEarlierRound(earlier, job);
      return;
    }
    if (!ACTIVE.has(d.state)) return;
    const live = {
      jobState: job.state,
      position: job.position,
      startedAt: job.startedAt ?? undefined,
      ...(job.usage ? { usage: job.usage } : {}),
    };
    switch (job.state) {
      case 'queued':
        await this.deps.store.patch(d.id, { ...live, state: 'queued' });
        return;
      case 'preparing':
      case 'running':
      case 'pushing':
        await this.deps.store.patch(d.id, { ...live, state: 'running' });
        return;
      case 'succeeded': {
        if (!job.commitSha) return;
        const first = this.claim(d);
        const updated = await this.deps.store.patch(d.id, { ...live, state: 'pushed', headOid: job.commitSha, notified: true });
        if (updated && first)
          this.deps.notify({
            type: 'pushed',
            delegation: updated,
            headOid: job.commitSha,
            ...(job.summary ? { summary: job.summary } : {}),
          });
        return;
      }
      case 'failed':
      case 'timed-out':
      case 'no-changes':
      case 'cancelled': {
        const first = this.claim(d);
        const updated = await this.deps.store.patch(d.id, {
          ...live,
          state: job.state === 'no-changes' ? 'no-changes' : job.state === 'cancelled' ? 'cancelled' : 'failed',
          problem: job.error?.message ?? job.state,
          notified: true,
        });
        if (updated && first) this.deps.notify({ type: 'job-ended', delegation: updated, job });
        return;
      }
      default: {
        const never: never = job.state;
        return never;
      }
    }
  }

  /**
   * A job of an earlier round (a follow-up was sent while it ran) has ended: its round
   * records the outcome and the user hears it once, as round N, while the delegation
   * goes on with the new round.
   */
  private async applyEarlierRound(d: Delegation, job: JobStatus): Promise<void> {
    if (!isFinalState(job.state)) return;
    const r = d.rounds?.find((x) => x.jobId === job.jobId);
    if (!r) return;
    const state =
      job.state === 'succeeded' ? 'pushed' : job.state === 'no-changes' ? 'no-changes' : job.state === 'cancelled' ? 'cancelled' : 'failed';
    const rounds = (d.rounds ?? []).map<DelegationRound>((x) =>
      x === r ? { ...x, state, ...(job.commitSha ? { headOid: job.commitSha } : {}) } : x,
    );
    const first = this.claimRound(d.id, r.round);
    const updated = await this.deps.store.patch(d.id, { rounds });
    if (!updated || !first) return;
    // Told as the round it was, not the one now running.
    const asRound = { ...updated, round: r.round };
    if (job.state === 'succeeded' && job.commitSha)
      this.deps.notify({ type: 'pushed', delegation: asRound, headOid: job.commitSha, ...(job.summary ? { summary: job.summary } : {}) });
    else this.deps.notify({ type: 'job-ended', delegation: asRound, job });
  }

  private async pollBranch(github: GitHubClient, d: Delegation, jobKnown = false): Promise<void> {
    let res;
    try {
      res = await github.rest.git.getRef({
        owner: d.owner,
        repo: d.repo,
        ref: `heads/${d.branch}`,
        headers: d.refEtag ? { 'if-none-match': d.refEtag } : {},
      });
    } catch (e) {
      if (status(e) === 304) return this.maybeCheckPull(github, d); // unchanged, and free
      if (status(e) === 404) {
        await this.deps.store.patch(d.id, { state: 'closed', problem: `branch ${d.branch} was deleted` });
        return;
      }
      throw e;
    }
    const head = res.data.object.sha;
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    // The branch moved. While the worker can tell, its job decides when the round ended (the move may be the
    // previous round's push landing after a follow-up was sent); without it, the move is the sign.
    // A delegation learned from the worker's list has no TASK.md commit to compare with: only its job tells.
    if (head !== d.taskCommitOid && !jobKnown && d.taskCommitOid) {
      if (!this.claim(d)) return;
      const updated = await this.deps.store.patch(d.id, { state: 'pushed', headOid: head, refEtag: etag, notified: true });
      if (updated) this.deps.notify({ type: 'pushed', delegation: updated, headOid: head });
      return;
    }
    await this.deps.store.patch(d.id, { refEtag: etag, headOid: head });
    await this.maybeCheckPull(github, d);
  }

  private async maybeCheckPull(github: GitHubClient, d: Delegation): Promise<void> {
    if (this.polls % (this.deps.pullCheckEvery ?? 5) !== 0) return;
    try {
      const res = await github.rest.pulls.get({
        owner: d.owner,
        repo: d.repo,
        pull_number: d.prNumber,
        headers: d.pullEtag ? { 'if-none-match': d.pullEtag } : {},
      });
      const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
      if (res.data.state === 'closed') {
        const updated = await this.deps.store.patch(d.id, { state: 'closed', merged: res.data.merged, pullEtag: etag, notified: true });
        if (updated) this.deps.notify({ type: 'closed', delegation: updated, merged: res.data.merged });
      } else await this.deps.store.patch(d.id, { pullEtag: etag });
    } catch (e) {
      if (status(e) !== 304) throw e;
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
