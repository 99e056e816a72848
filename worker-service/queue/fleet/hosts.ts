// The fleet's live hosts: each beats (its slots, version, whether it takes jobs) into
// a key that expires after three beats, and lists itself in a sorted set; a reader
// prunes the set of hosts whose key has lapsed. So a host that dies (even kill -9)
// is gone from /health within three heartbeats.
import type { Redis } from 'ioredis';
import type { HostHealth, SlotHealth } from '../../../shared/protocol.js';
import { keys } from './keys.js';

export interface HostBeat extends HostHealth {
  slotStates: SlotHealth[];
}

export class HostRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly heartbeatMs: number,
  ) {}

  async beat(beat: HostBeat): Promise<void> {
    await this.redis
      .multi()
      .set(keys.host(beat.id), JSON.stringify(beat), 'PX', this.heartbeatMs * 3)
      .zadd(keys.hosts, Date.parse(beat.lastSeen), beat.id)
      .exec();
  }

  async leave(id: string): Promise<void> {
    await this.redis.multi().del(keys.host(id)).zrem(keys.hosts, id).exec();
  }

  /** Every live host, by id. */
  async live(): Promise<HostBeat[]> {
    const ids = await this.redis.zrange(keys.hosts, 0, -1);
    if (ids.length === 0) return [];
    const beats = await this.redis.mget(ids.map((id) => keys.host(id)));
    const gone = ids.filter((_, i) => beats[i] === null);
    if (gone.length) await this.redis.zrem(keys.hosts, ...gone);
    return beats
      .filter((b): b is string => b !== null)
      .map((b) => JSON.parse(b) as HostBeat)
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}
