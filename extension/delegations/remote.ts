// Delegations from any machine: the worker lists the caller's jobs (GET /jobs?mine=1,
// newest first, a page at a time); the ones this window does not know become
// delegations of their own (one per pull request, its jobs as its rounds), and the
// ones it knows bring their live state. Plain TypeScript, tested without VS Code.
import { isFinalState } from '../../shared/jobStates.js';
import type { JobList, JobStatus } from '../../shared/protocol.js';
import { ACTIVE, KEEP, type Delegation, type DelegationState, type DelegationStore } from './model.js';

export interface JobLister {
  listMine(cursor?: string, limit?: number): Promise<{ kind: 'ok'; list: JobList } | { kind: 'error'; message: string }>;
}

export const MAX_PAGES = 3;

/** Up to `maxPages` pages of the caller's jobs, newest first (what was read before an error is kept). */
export async function fetchMyJobs(
  api: JobLister,
  opts: { maxPages?: number; limit?: number } = {},
): Promise<{ jobs: JobStatus[]; error?: string; more: boolean }> {
  const jobs: JobStatus[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < (opts.maxPages ?? MAX_PAGES); page++) {
    const res = await api.listMine(cursor, opts.limit);
    if (res.kind === 'error') return { jobs, error: res.message, more: false };
    jobs.push(...res.list.jobs);
    if (!res.list.nextCursor) return { jobs, more: false };
    cursor = res.list.nextCursor;
  }
  return { jobs, more: true };
}

/** The delegation's state for a job's. */
export function delegationStateOf(job: Pick<JobStatus, 'state'>): DelegationState {
  switch (job.state) {
    case 'queued':
      return 'queued';
    case 'preparing':
    case 'running':
    case 'pushing':
      return 'running';
    case 'succeeded':
      return 'pushed';
    case 'no-changes':
      return 'no-changes';
    case 'cancelled':
      return 'cancelled';
    case 'failed':
    case 'timed-out':
      return 'failed';
    default: {
      const never: never = job.state;
      return never;
    }
  }
}

const prKey = (x: { owner: string; repo: string; prNumber: number }) => `${x.owner.toLowerCase()}/${x.repo.toLowerCase()}#${x.prNumber}`;

/** A delegation made of one PR's jobs, oldest first: the newest is the current round. */
export function delegationFromJobs(jobs: readonly JobStatus[], webUrl: string): Delegation {
  const sorted = [...jobs].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const first = sorted[0]!;
  const cur = sorted[sorted.length - 1]!;
  const state = delegationStateOf(cur);
  const createdAt = Date.parse(first.createdAt);
  return {
    // An id the worker accepts inside an idempotency key (a follow-up's is `<id>-R<n>`).
    id: `worker:${first.jobId}`,
    owner: cur.owner,
    repo: cur.repo,
    branch: cur.branch,
    prNumber: cur.prNumber,
    title: cur.title,
    prUrl: `${webUrl.replace(/\/+$/, '')}/${cur.owner}/${cur.repo}/pull/${cur.prNumber}`,
    // Not in the worker's list: a follow-up asks GitHub for the base; the job's state alone tells a push.
    baseBranch: '',
    taskCommitOid: '',
    state,
    jobId: cur.jobId,
    jobState: cur.state,
    position: cur.position,
    ...(cur.startedAt ? { startedAt: cur.startedAt } : {}),
    ...(cur.commitSha ? { headOid: cur.commitSha } : {}),
    ...(cur.usage ? { usage: cur.usage } : {}),
    ...(isFinalState(cur.state) && cur.state !== 'succeeded' ? { problem: cur.error?.message ?? cur.state } : {}),
    job: {
      owner: cur.owner,
      repo: cur.repo,
      branch: cur.branch,
      prNumber: cur.prNumber,
      baseBranch: '',
      title: cur.title,
      taskDescription: '',
      idempotencyKey: `worker:${first.jobId}`,
      ...(cur.requestedBy ? { requestedBy: cur.requestedBy } : {}),
    },
    ...(sorted.length > 1
      ? {
          round: sorted.length,
          rounds: sorted.map((j, i) => ({
            round: i + 1,
            jobId: j.jobId,
            taskCommitOid: '',
            state: delegationStateOf(j),
            ...(j.commitSha ? { headOid: j.commitSha } : {}),
          })),
        }
      : {}),
    createdAt: Number.isFinite(createdAt) ? createdAt : 0,
    updatedAt: Number.isFinite(createdAt) ? createdAt : 0,
    // An end that came before this window heard of the job was told where it was started.
    notified: isFinalState(cur.state),
    fromWorker: true,
  };
}

export interface MergeInput {
  local: readonly Delegation[];
  /** The worker's list, newest first. */
  jobs: readonly JobStatus[];
  /** GitHub's web address, for the PR links. */
  webUrl: string;
  /**
   * A token worker lists everyone's jobs: keep those whose requestedBy is this login (none
   * when it is null: unknown). Undefined: the list is the caller's already (github mode).
   */
  onlyLogin?: string | null;
  keep?: number;
}

export interface Merge {
  /** Delegations started elsewhere, new to this window. */
  added: Delegation[];
  /** Jobs of delegations this window knows: their state, for the watcher to apply. */
  known: JobStatus[];
  /** New jobs on pull requests this window follows (a `/kiro` comment on GitHub): more rounds of those delegations. */
  rounds: { delegationId: string; jobs: JobStatus[] }[];
}

/**
 * A delegation with the rounds started elsewhere (on GitHub) on its pull request as its
 * newest: the newest of them is the current round, to be followed (and its end told) like
 * one sent from here. Undefined when there is none to add.
 */
export function withRoundsFromElsewhere(d: Delegation, jobs: readonly JobStatus[]): Partial<Delegation> | undefined {
  if (d.state === 'closed' || d.state === 'creating') return undefined;
  const known = new Set([d.jobId, ...(d.rounds ?? []).map((r) => r.jobId)].filter((id): id is string => !!id));
  const fresh = jobs
    .filter((j) => !known.has(j.jobId) && Date.parse(j.createdAt) >= d.createdAt)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const cur = fresh[fresh.length - 1];
  if (!cur) return undefined;
  const history = d.rounds ?? [{ round: 1, taskCommitOid: d.taskCommitOid, state: d.state }];
  const kept = history.map((r, i) =>
    i === history.length - 1
      ? { ...r, ...(d.jobId ? { jobId: d.jobId } : {}), state: d.state, ...(d.headOid ? { headOid: d.headOid } : {}) }
      : r,
  );
  let n = d.round ?? history.length;
  const added = fresh.map((j) => ({
    round: ++n,
    jobId: j.jobId,
    taskCommitOid: '',
    state: delegationStateOf(j),
    ...(j.commitSha ? { headOid: j.commitSha } : {}),
  }));
  // Queued until the watcher applies the job's own state: then its push (or end) is told once.
  return {
    rounds: [...kept, ...added],
    round: n,
    jobId: cur.jobId,
    jobState: 'queued',
    state: 'queued',
    position: undefined,
    startedAt: undefined,
    usage: undefined,
    problem: undefined,
    sendFailed: false,
    notified: false,
  };
}

/**
 * What the worker's list adds to the window's delegations. A job this window sent (its id
 * on a delegation or one of its rounds) is `known`; the others are grouped by pull request,
 * a PR this window already follows is left as it is, and each other PR becomes one
 * delegation. Finished ones that would not be kept (older than the newest `keep`) are left out.
 */
export function mergeRemoteJobs(input: MergeInput): Merge {
  const localJobs = new Set(
    input.local.flatMap((d) => [...(d.jobId ? [d.jobId] : []), ...(d.rounds ?? []).flatMap((r) => (r.jobId ? [r.jobId] : []))]),
  );
  const only = input.onlyLogin;
  const mine =
    only === undefined ? input.jobs : input.jobs.filter((j) => only !== null && j.requestedBy?.toLowerCase() === only.toLowerCase());
  const known: JobStatus[] = [];
  const byPr = new Map<string, JobStatus[]>();
  const elsewhere = new Map<string, JobStatus[]>();
  const followed = new Map(input.local.map((d) => [prKey(d), d.id]));
  for (const j of mine) {
    const followedBy = followed.get(prKey(j));
    if (localJobs.has(j.jobId)) known.push(j);
    else if (followedBy === undefined) byPr.set(prKey(j), [...(byPr.get(prKey(j)) ?? []), j]);
    else elsewhere.set(followedBy, [...(elsewhere.get(followedBy) ?? []), j]);
  }
  const candidates = [...byPr.values()].map((jobs) => delegationFromJobs(jobs, input.webUrl));
  // The store keeps the newest `keep` and every active one: adding what it would drop at once only churns.
  const keep = input.keep ?? KEEP;
  const newest = [...input.local, ...candidates].sort((a, b) => b.createdAt - a.createdAt).slice(0, keep);
  const kept = new Set(newest);
  const added = candidates.filter((d) => kept.has(d) || ACTIVE.has(d.state)).sort((a, b) => b.createdAt - a.createdAt);
  return { added, known, rounds: [...elsewhere].map(([delegationId, jobs]) => ({ delegationId, jobs })) };
}

export interface SyncDeps {
  api: JobLister;
  store: DelegationStore;
  /** The watcher's applyJob: a known delegation follows its job (and its end is told once). */
  applyJob(job: JobStatus): Promise<void>;
  webUrl: string;
  /** A token worker lists everyone's jobs: the login whose to keep (asked only when there are jobs). Absent: no filter. */
  onlyLogin?: () => Promise<string | null>;
  maxPages?: number;
  log?(message: string): void;
}

/** One refresh from the worker's list: adds delegations started elsewhere, updates the known ones. */
export async function syncFromWorker(deps: SyncDeps): Promise<{ added: number; updated: number; error?: string }> {
  const fetched = await fetchMyJobs(deps.api, { maxPages: deps.maxPages });
  if (fetched.error && fetched.jobs.length === 0) {
    return { added: 0, updated: 0, error: fetched.error };
  }
  const onlyLogin = deps.onlyLogin && fetched.jobs.length > 0 ? await deps.onlyLogin() : undefined;
  const merge = mergeRemoteJobs({ local: deps.store.all(), jobs: fetched.jobs, webUrl: deps.webUrl, onlyLogin });
  for (const job of merge.known) await deps.applyJob(job);
  let rounds = 0;
  for (const { delegationId, jobs } of merge.rounds) {
    const d = deps.store.get(delegationId);
    const patch = d && withRoundsFromElsewhere(d, jobs);
    if (!d || !patch || !(await deps.store.patch(delegationId, patch))) continue;
    rounds += 1;
    deps.log?.(`a round started elsewhere (on GitHub) on ${d.owner}/${d.repo}#${d.prNumber}: round ${patch.round}`);
    for (const j of [...jobs].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))) await deps.applyJob(j);
  }
  await deps.store.upsertMany(merge.added);
  if (merge.added.length)
    deps.log?.(
      `${merge.added.length} delegation(s) started elsewhere, listed by the worker: ${merge.added.map((d) => `${d.owner}/${d.repo}#${d.prNumber}`).join(', ')}`,
    );
  return { added: merge.added.length, updated: merge.known.length + rounds, ...(fetched.error ? { error: fetched.error } : {}) };
}
