// Where a job's time goes, phase by phase (fetch, checkout, record saves, sandbox
// and spawn, the agent, publish, settle…): kept in memory for the benchmark's
// per-phase breakdown of the service's own overhead; never persisted.
export class PhaseTimes {
  private last = performance.now();
  readonly ms: Record<string, number> = {};

  /** Charges the time since the previous lap to `phase`. */
  lap(phase: string): void {
    const now = performance.now();
    this.ms[phase] = (this.ms[phase] ?? 0) + (now - this.last);
    this.last = now;
  }

  /** Moves `ms` of the time charged to `from` over to `to` (a sub-phase measured inside it). */
  split(from: string, to: string, ms: number): void {
    this.ms[from] = (this.ms[from] ?? 0) - ms;
    this.ms[to] = (this.ms[to] ?? 0) + ms;
  }
}
