// jobs/ owns what a job is, whichever queue holds it: its record (this file), its log,
// its status, its paths, retention, and the rules every queue keeps (rules.ts).
// This file: a job as the worker keeps it (on disk and in memory), and its public status.
import type { GenerateCodeRequest, JobBlocked, JobChanges, JobState, JobStatus, JobUsage } from '../../shared/protocol.js';

export interface JobError {
  code: string;
  message: string;
}

export interface Job {
  id: string;
  /** Idempotency scope: see scopeKeyOf. */
  scopeKey: string;
  request: GenerateCodeRequest;
  state: JobState;
  attempts: number;
  slotId: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  commitSha: string | null;
  error: JobError | null;
  outputTail: string[];
  /** The agent's pid while it runs: after a crash of the service, its orphaned group is stopped. */
  agentPid?: number | null;
  /** After a push: the files it changed (the agent's work only, from the commit it was pushed onto). */
  changes?: JobChanges | null;
  /** The agent's final message (a plain-text agent's last lines), once it has exited. */
  summary?: string | null;
  /** A fleet: the host running (or that last ran) the job. */
  host?: string | null;
  /** The tokens (and cost) the agent's events reported in this attempt; absent or null when it reported none. */
  usage?: JobUsage | null;
  /** What the agent's egress proxy refused in this attempt (each destination once, at most 20); absent or null when nothing. */
  blocked?: JobBlocked | null;
}

/**
 * Idempotency scope: repository, branch and key. The key is the user's confirmation code
 * (PR<timestamp>), which two users can share within a millisecond; their branches differ.
 */
export function scopeKeyOf(r: Pick<GenerateCodeRequest, 'owner' | 'repo' | 'branch' | 'idempotencyKey'>): string {
  return `${r.owner.toLowerCase()}/${r.repo.toLowerCase()}#${r.branch}#${r.idempotencyKey}`;
}

export function toStatus(job: Job, position: number): JobStatus {
  return {
    jobId: job.id,
    state: job.state,
    owner: job.request.owner,
    repo: job.request.repo,
    branch: job.request.branch,
    prNumber: job.request.prNumber,
    title: job.request.title,
    attempts: job.attempts,
    position,
    slotId: job.slotId,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    exitCode: job.exitCode,
    signal: job.signal,
    commitSha: job.commitSha,
    error: job.error,
    outputTail: job.outputTail,
    ...(job.changes ? { changes: job.changes } : {}),
    ...(job.summary ? { summary: job.summary } : {}),
    ...(job.host ? { host: job.host } : {}),
    ...(job.usage ? { usage: job.usage } : {}),
    ...(job.blocked?.length ? { blocked: job.blocked } : {}),
    ...(job.request.requestedBy ? { requestedBy: job.request.requestedBy } : {}),
  };
}
