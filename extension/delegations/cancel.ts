// Cancelling a delegation's job: asks the worker, then records what the worker
// says happened. A job that finished meanwhile (pushed before the cancel
// arrived) is recorded as it ended, not as cancelled: the view tells the truth.
import type { WorkerApi } from '../worker/client.js';
import type { Delegation, DelegationState, DelegationStore } from './model.js';

export interface CancelDeps {
  worker: Pick<WorkerApi, 'cancel'>;
  store: DelegationStore;
  log?: (message: string) => void;
}

export type CancelOutcome =
  { kind: 'cancelled' } | { kind: 'already-ended'; state: string } | { kind: 'stopping' } | { kind: 'error'; message: string };

export async function cancelDelegation(d: Delegation, deps: CancelDeps): Promise<CancelOutcome> {
  if (!d.jobId) return { kind: 'error', message: 'this delegation has no job on the worker' };
  const res = await deps.worker.cancel(d.jobId);
  if (res.kind === 'error') return res;
  const job = res.job;
  deps.log?.(`cancel of job ${d.jobId} (PR #${d.prNumber}): the worker says ${job.state}`);
  if (job.state === 'cancelled') {
    await deps.store.patch(d.id, { state: 'cancelled', problem: job.error?.message ?? 'cancelled', notified: true });
    return { kind: 'cancelled' };
  }
  // It ended before the cancel arrived: recorded as it ended (a push is confirmed by the watcher seeing the branch move).
  const ended: Partial<Record<string, DelegationState>> = { 'no-changes': 'no-changes', failed: 'failed', 'timed-out': 'failed' };
  const state = ended[job.state];
  if (state) await deps.store.patch(d.id, { state, problem: job.error?.message });
  if (state || job.state === 'succeeded') return { kind: 'already-ended', state: job.state };
  // Running: the agent is being stopped; the watcher (or the event stream) records the end.
  return { kind: 'stopping' };
}
