// One slot of the pool: what it is doing and since when.
import type { SlotHealth, SlotState } from '../../shared/protocol.js';
import type { AgentProcess } from '../agent/ptyRunner.js';

export class Slot {
  state: SlotState = 'idle';
  jobId: string | null = null;
  since = Date.now();
  agent: AgentProcess | null = null;
  restartTimer: NodeJS.Timeout | null = null;
  /** Repositories this slot keeps a warm worktree for, and when it last used each. */
  readonly warm = new Map<string, { owner: string; repo: string; usedAt: number }>();

  constructor(readonly id: number) {}

  set(state: SlotState, jobId: string | null = null): void {
    this.state = state;
    this.jobId = jobId;
    this.since = Date.now();
  }

  health(): SlotHealth {
    return { id: this.id, state: this.state, jobId: this.jobId, since: new Date(this.since).toISOString() };
  }
}
