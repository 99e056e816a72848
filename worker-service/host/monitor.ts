// The health monitor of this host's slots, every KIRO_HEALTH_INTERVAL_MS: one log line of
// what each slot does, an agent silent past KIRO_AGENT_SILENCE_MS stopped, and warm
// checkouts idle past KIRO_SLOT_IDLE_RECYCLE_MS discarded. The job's time limit is not
// the monitor's: agentRun.ts holds it with its own timer, exact to the millisecond (the
// monitor looks only every interval, a minute by default), and cleared with the run.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { WorkerConfig } from '../config.js';
import type { Workspaces } from '../git/workspace.js';
import type { JobLog } from '../jobs/log.js';
import type { Slot } from './slot.js';

export interface MonitorDeps {
  config: WorkerConfig;
  workspaces: Workspaces;
  log: Logger;
  slots: readonly Slot[];
  /** The log of the job running on a slot now, if any. */
  logOn(slot: Slot): JobLog | undefined;
}

export class HealthMonitor {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: MonitorDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.config.healthIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async check(): Promise<void> {
    const { config, log, slots } = this.deps;
    const now = Date.now();
    log.info({ slots: slots.map((s) => `${s.id}:${s.state}${s.jobId ? `:${s.jobId}` : ''}`) }, 'pool health');
    for (const slot of slots) {
      const jobLog = this.deps.logOn(slot);
      if (slot.state === 'busy' && slot.agent && jobLog && now - jobLog.lastOutputAt > config.agentSilenceMs)
        void slot.agent.stop('silence', config.killGraceMs);
      if (slot.state !== 'idle') continue;
      for (const [key, w] of slot.warm) {
        if (now - w.usedAt <= config.slotIdleRecycleMs) continue;
        slot.warm.delete(key);
        await this.deps.workspaces.discard(slot.id, w.owner, w.repo).catch(() => undefined);
        log.info({ slot: slot.id, repo: key }, 'recycled an idle warm checkout');
      }
    }
  }
}
