// Delegations: what the user handed to Kiro, persisted (VS Code globalState) so
// that watching resumes after a window reload.
import type { GenerateCodeRequest, JobState, JobUsage } from '../../shared/protocol.js';

export type DelegationState = 'creating' | 'queued' | 'running' | 'pushed' | 'no-changes' | 'failed' | 'cancelled' | 'closed';

export interface Delegation {
  /** The confirmation code. */
  id: string;
  owner: string;
  repo: string;
  branch: string;
  baseBranch: string;
  prNumber: number;
  prUrl: string;
  title: string;
  taskCommitOid: string;
  state: DelegationState;
  /** What the worker should run; kept for "Retry sending". */
  job: GenerateCodeRequest;
  jobId?: string;
  /** Why the job failed, or why sending it has not worked yet, in words for the user. */
  problem?: string;
  /** Sending to the worker failed (unreachable, bad token): "Retry sending" applies. */
  sendFailed?: boolean;
  headOid?: string;
  /** The worker's own state of the job, as last seen (finer than `state`: preparing, pushing…). */
  jobState?: JobState;
  /** Jobs ahead of this one while queued. */
  position?: number;
  /** When the agent started (ISO), for "running m:ss". */
  startedAt?: string;
  /** A closed PR was merged. */
  merged?: boolean;
  /** The round in progress (1 = the first task; each follow-up adds one). */
  round?: number;
  /** Every round so far, oldest first (absent until the first follow-up). */
  rounds?: DelegationRound[];
  refEtag?: string;
  pullEtag?: string;
  createdAt: number;
  updatedAt: number;
  /** Whether the user was told the outcome (so a reload does not notify twice). */
  notified?: boolean;
  /** What the current round's agent reported using (absent: nothing reported, or not yet). */
  usage?: JobUsage;
  /**
   * Learned from the worker's list of this user's jobs (started from another machine or
   * profile): no confirmation code of ours, no TASK.md commit known, the base branch asked
   * of GitHub when a follow-up needs it.
   */
  fromWorker?: boolean;
}

export interface DelegationRound {
  round: number;
  jobId?: string;
  taskCommitOid: string;
  state: DelegationState;
  headOid?: string;
}

export const ACTIVE: ReadonlySet<DelegationState> = new Set(['creating', 'queued', 'running']);

/**
 * Jobs of earlier rounds still under way: a follow-up sent while a round runs starts a new
 * round at once, and the earlier one's outcome is still to be told.
 */
export function earlierActiveJobIds(d: Delegation): string[] {
  return (d.rounds ?? []).flatMap((r) => (r.round !== (d.round ?? 1) && r.jobId && ACTIVE.has(r.state) ? [r.jobId] : []));
}

/** Every job of a delegation whose state is still worth hearing: the current round's and earlier ones under way. */
export function watchedJobIds(d: Delegation): string[] {
  return [...(d.jobId ? [d.jobId] : []), ...earlierActiveJobIds(d)];
}

/** The subset of vscode.Memento the store needs. */
export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

const KEY = 'kiroDelegate.delegations.v1';
/** How many delegations are kept (the newest; active ones are never dropped). */
export const KEEP = 50;

export class DelegationStore {
  private readonly listeners = new Set<() => void>();
  constructor(
    private readonly memento: MementoLike,
    private readonly clock: () => number = Date.now,
  ) {}

  all(): Delegation[] {
    return [...(this.memento.get<Delegation[]>(KEY) ?? [])].sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): Delegation | undefined {
    return this.all().find((d) => d.id === id);
  }

  active(): Delegation[] {
    return this.all().filter((d) => ACTIVE.has(d.state));
  }

  async upsert(d: Delegation): Promise<Delegation> {
    const [next] = await this.upsertMany([d]);
    return next ?? d;
  }

  /** Several at once: one write, one change event. */
  async upsertMany(ds: readonly Delegation[]): Promise<Delegation[]> {
    if (ds.length === 0) return [];
    const now = this.clock();
    const next = ds.map((d) => ({ ...d, updatedAt: now }));
    const ids = new Set(next.map((d) => d.id));
    const rest = this.all().filter((x) => !ids.has(x.id));
    // Keep the newest; finished ones beyond the limit are dropped, active ones never.
    const kept = [...next, ...rest].sort((a, b) => b.createdAt - a.createdAt).filter((x, i) => i < KEEP || ACTIVE.has(x.state));
    await this.memento.update(KEY, kept);
    for (const l of this.listeners) l();
    return next;
  }

  async patch(id: string, changes: Partial<Delegation>): Promise<Delegation | undefined> {
    const d = this.get(id);
    return d ? this.upsert({ ...d, ...changes }) : undefined;
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}

/** An in-memory Memento, for tests and for builds without globalState. */
export class MemoryMemento implements MementoLike {
  private readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return structuredClone(this.data.get(key)) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
}
