// This host's membership of the fleet: its heartbeat in Redis (hosts.ts) every
// KIRO_FLEET_HEARTBEAT_MS, word of hosts that came or went, and /health for the whole
// fleet (every live host's slots and the shared queue), or, while Redis is away, this
// host's own part of it, accepting nothing.
import { PROTOCOL_VERSION, type PoolHealth } from '../../../shared/protocol.js';
import type { FleetConfig } from '../../config.js';
import type { HostDeps, HostSlots } from '../../host/hostSlots.js';
import type { HostBeat, HostRegistry } from './hosts.js';

export interface MembershipDeps {
  host: HostSlots;
  registry: HostRegistry;
  fleet: FleetConfig;
  deps: HostDeps;
  accepting(): boolean;
  /** How many jobs wait in the fleet's queue. */
  queued(): Promise<number>;
  /** A host came or went: every event stream hears of the new slots. */
  hostsChanged(): void;
}

export class FleetMembership {
  private timer: NodeJS.Timeout | null = null;
  private liveHostIds = '';
  private readonly startedAt = Date.now();
  private left = false;

  constructor(private readonly o: MembershipDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.fleet.heartbeatMs);
    this.timer.unref();
    void this.beat().catch(() => undefined);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Leaves the fleet's list of hosts; no beat follows. */
  async leave(): Promise<void> {
    this.stop();
    this.left = true;
    await this.o.registry.leave(this.o.fleet.workerId).catch(() => undefined);
  }

  private beatOf(): HostBeat {
    const { host, fleet, deps } = this.o;
    return {
      id: fleet.workerId,
      slots: host.slots.length,
      busy: host.busy,
      version: deps.version,
      accepting: this.o.accepting(),
      lastSeen: new Date().toISOString(),
      slotStates: host.slotHealth(fleet.workerId),
    };
  }

  async beat(): Promise<void> {
    if (this.left) return;
    await this.o.registry.beat(this.beatOf());
  }

  /** Heartbeat; and when a host has come or gone, every event stream hears of the new slots. */
  private async tick(): Promise<void> {
    try {
      await this.beat();
      const ids = (await this.o.registry.live()).map((h) => h.id).join(',');
      if (ids !== this.liveHostIds) {
        this.liveHostIds = ids;
        this.o.hostsChanged();
      }
    } catch {
      /* Redis away: reported by the connection */
    }
  }

  private localHealth(): PoolHealth {
    const { host, deps } = this.o;
    const beat = this.beatOf();
    const { slotStates, ...self } = beat;
    return {
      slots: slotStates,
      queued: 0,
      running: beat.busy,
      capacity: beat.slots,
      queueLimit: deps.config.queueLimit,
      // Redis is away: nothing can be stored, so nothing is accepted.
      accepting: false,
      agent: { command: host.agent.command, found: host.agent.found, message: host.agent.message },
      ...(deps.sandbox ? { sandbox: deps.sandbox.status() } : {}),
      version: deps.version,
      protocol: PROTOCOL_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      hosts: [self],
      queue: 'redis',
    };
  }

  async health(): Promise<PoolHealth> {
    try {
      const [beats, queued] = await Promise.all([this.o.registry.live(), this.o.queued()]);
      const hosts = beats.map(({ slotStates: _, ...h }) => h);
      return {
        ...this.localHealth(),
        slots: beats.flatMap((b) => b.slotStates),
        queued,
        running: hosts.reduce((n, h) => n + h.busy, 0),
        capacity: hosts.reduce((n, h) => n + h.slots, 0),
        accepting: this.o.accepting(),
        hosts,
      };
    } catch {
      return this.localHealth();
    }
  }
}
