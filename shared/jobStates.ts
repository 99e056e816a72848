// A job's states, without any schema library: the extension needs them at run
// time, and importing them from protocol.ts would bundle TypeBox into it.
export const JOB_STATES = [
  'queued',
  'preparing',
  'running',
  'pushing',
  'succeeded',
  'no-changes',
  'failed',
  'timed-out',
  'cancelled',
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'no-changes', 'failed', 'timed-out', 'cancelled']);
export function isFinalState(state: JobState): boolean {
  return FINAL_STATES.has(state);
}
