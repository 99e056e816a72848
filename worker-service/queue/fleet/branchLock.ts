// One job per branch at a time across every host: a lock in Redis per branch, taken
// with SET NX PX, renewed while its job runs, released only by its holder (checked
// and done in one Lua script). A host that dies stops renewing: the lock lapses after
// KIRO_FLEET_BRANCH_LOCK_MS and the branch is free again. Open-source BullMQ has no
// groups, so this is what keeps a follow-up from starting before the round before it.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface HeldLock {
  /** Whether the lock was still ours at the last renewal. */
  readonly held: boolean;
  release(): Promise<void>;
}

export class BranchLocks {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    private readonly holder: string,
  ) {}

  /**
   * Takes the branch's lock for `jobId`, or returns null when another job holds it.
   * Renewed every third of its lifetime until released.
   */
  async acquire(branchKey: string, jobId: string, onLost: () => void): Promise<HeldLock | null> {
    const key = keys.branch(branchKey);
    // Never the same value twice: a re-run of this job must not take over a lock its first run still renews.
    const value = `${jobId} ${this.holder} ${randomUUID()}`;
    if ((await this.redis.set(key, value, 'PX', this.ttlMs, 'NX')) !== 'OK') return null;
    let held = true;
    const renew = setInterval(
      () => {
        this.redis.eval(RENEW, 1, key, value, String(this.ttlMs)).then(
          (ok) => {
            if (ok === 1 || !held) return;
            held = false;
            onLost();
          },
          () => undefined,
        ); // Redis away: the next renewal tries again
      },
      Math.max(200, Math.floor(this.ttlMs / 3)),
    );
    renew.unref();
    return {
      get held() {
        return held;
      },
      release: async () => {
        clearInterval(renew);
        held = false;
        await this.redis.eval(RELEASE, 1, key, value).catch(() => undefined); // it lapses by itself otherwise
      },
    };
  }
}
