// Where a fleet keeps its shared state in Redis, and the ids it derives.
import { createHash } from 'node:crypto';

export const QUEUE_NAME = 'kiro-jobs';

export const keys = {
  /** A job's record (JSON of jobs/job.ts's Job), the fleet's answer to GET /jobs/:id. */
  job: (id: string) => `kiro:job:${id}`,
  /** Jobs not yet final, scored by creation time (the event stream's snapshot). */
  open: 'kiro:jobs:open',
  /** The agent's output (one byte sequence over every attempt, whichever host ran it). */
  log: (id: string) => `kiro:log:${id}`,
  /** Set while a cancel of the job is asked for. */
  cancel: (id: string) => `kiro:cancel:${id}`,
  /** Held by the one job of a branch that runs now. */
  branch: (branchKey: string) => `kiro:branch:${branchKey}`,
  /** A live host's last heartbeat (expires when it stops beating). */
  host: (id: string) => `kiro:host:${id}`,
  /** The jobs one login asked for, scored by creation time (GET /jobs?mine=1, per-user quotas). */
  byUser: (login: string) => `kiro:user:${login.toLowerCase()}:jobs`,
  /** Every host that has beaten, scored by last beat (pruned of the dead on read). */
  hosts: 'kiro:hosts',
} as const;

/** The job whose log a `keys.log` key is. */
export const jobOfLogKey = (key: string): string => key.replace(/^kiro:log:/, '');

/** Pub/sub channels: job and slot changes for every host's event stream, cancels for the holder, and the id of a job whose log grew. */
export const channels = { events: 'kiro:events', cancel: 'kiro:cancel', logs: 'kiro:logs' } as const;

/** Records outlive their jobs this long. */
export const RECORD_TTL_S = 30 * 24 * 3600;
/** Logs (up to KIRO_AGENT_MAX_OUTPUT_MB each, in a Redis that never evicts) are kept a week; the host's file stays. */
export const LOG_TTL_S = 7 * 24 * 3600;

/**
 * One job per idempotency scope, whichever host is asked and however many at once: the
 * job id is derived from the scope (a UUID-shaped digest; BullMQ ids must not contain ":").
 */
export function jobIdFor(scopeKey: string): string {
  const h = createHash('sha256').update(scopeKey).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
