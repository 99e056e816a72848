// How often a window asks the worker's list for rounds started elsewhere (a `/kiro`
// comment on GitHub, another machine): at most every 15 s while the window is in use,
// a quarter as often while it is not, whatever the PR poll interval (which may be minutes).

/** The longest wait between two asks while the window is focused. */
export const ROUNDS_SYNC_MAX_MS = 15_000;
const UNFOCUSED_FACTOR = 4;

/** The timer's period: the PR poll interval when it is shorter. */
export function roundsSyncPeriodMs(pollIntervalMs: number): number {
  return Math.max(1_000, Math.min(pollIntervalMs, ROUNDS_SYNC_MAX_MS));
}

/** Whether tick number `tick` (1, 2, …) asks: every tick while focused, every fourth while not. */
export function roundsSyncDue(tick: number, focused: boolean): boolean {
  return focused || tick % UNFOCUSED_FACTOR === 0;
}
