// The fleet's own parts against a real redis-server (a private one on a free loopback
// port): the per-branch lock, the ordered write-behind through an outage, and the host
// registry's expiry. The queue's shared behaviour is in queueContract.test.ts, a whole
// fleet of processes in fleet.test.ts.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { BranchLocks } from '../../../worker-service/queue/fleet/branchLock.js';
import { HostRegistry } from '../../../worker-service/queue/fleet/hosts.js';
import { keys } from '../../../worker-service/queue/fleet/keys.js';
import { WriteBehind } from '../../../worker-service/queue/fleet/writeBehind.js';
import { pollUntil, tempDir } from '../../support/helpers.js';

describe('fleet parts on a real Redis', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let dir: string;
  const clients: Redis[] = [];
  const client = (opts: { maxRetriesPerRequest?: number | null } = {}) => {
    const r = new Redis(redis.url, { maxRetriesPerRequest: null, ...opts });
    r.on('error', () => undefined); // an outage below is on purpose
    clients.push(r);
    return r;
  };

  before(async () => {
    dir = await tempDir();
    redis = await startRedis(dir);
  });
  after(async () => {
    for (const r of clients) r.disconnect();
    await stopChild(redis.child, 3000);
  });

  it('a branch lock is held by one job at a time, renewed past its lifetime, and released only by its holder', async function () {
    const r = client();
    const a = new BranchLocks(r, 600, 'host-a');
    const b = new BranchLocks(r, 600, 'host-b');
    const lost: string[] = [];
    const held = await a.acquire('alice/app#one', 'job-1', () => lost.push('job-1'));
    assert.ok(held);
    assert.equal(await b.acquire('alice/app#one', 'job-2', () => undefined), null, 'another job of the branch waits');
    assert.ok(await b.acquire('alice/app#two', 'job-3', () => undefined), 'another branch is free');
    // Three lifetimes later it is still held: its holder renews it.
    const until = Date.now() + 1800;
    await pollUntil(async () => Date.now() > until && (await r.pttl(keys.branch('alice/app#one'))) > 0, {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'three lock lifetimes',
    });
    assert.equal(await b.acquire('alice/app#one', 'job-2', () => undefined), null);
    assert.equal(held.held, true);
    await held.release();
    const next = await b.acquire('alice/app#one', 'job-2', () => undefined);
    assert.ok(next, 'free once released');
    // A holder whose lock was taken over (it lapsed while the holder was cut off) hears so and cannot release the new one.
    const stale = await a.acquire('alice/app#three', 'job-4', () => lost.push('job-4'));
    await r.set(keys.branch('alice/app#three'), 'someone else', 'PX', 5000);
    await pollUntil(() => lost.includes('job-4'), { timeoutMs: 3_000, what: 'the holder to hear it lost the lock' });
    assert.equal(stale?.held, false);
    await stale?.release();
    assert.equal(await r.get(keys.branch('alice/app#three')), 'someone else', 'the new holder keeps it');
    assert.deepEqual(lost, ['job-4']);
    await next.release();
  });

  it('the write-behind keeps writing through a Redis restart: nothing lost, in order, log bytes before the record that follows them', async function () {
    const writer = client();
    const errors: string[] = [];
    const writes = new WriteBehind(writer, (e) => errors.push((e as Error).message), 3600);
    writes.append('kiro:log:wb', Buffer.from('one '));
    writes.write((r) => r.set('kiro:rec:wb', 'after one'));
    assert.equal(await writes.flushed(5_000), true);
    await stopChild(redis.child, 5000);
    // Redis is away: these wait, in order.
    writes.append('kiro:log:wb', Buffer.from('two '));
    writes.append('kiro:log:wb', Buffer.from('three'));
    writes.write((r) => r.get('kiro:log:wb').then((log) => r.set('kiro:rec:wb', `after ${log}`)));
    assert.equal(await writes.flushed(300), false, 'not landed while Redis is away');
    assert.ok(writes.pending > 0);
    redis = await startRedis(dir, redis.port);
    assert.equal(await writes.flushed(15_000), true);
    const reader = client();
    assert.equal(await reader.get('kiro:log:wb'), 'one two three');
    assert.equal(await reader.get('kiro:rec:wb'), 'after one two three', 'the record was written after the bytes before it');
    assert.ok((await reader.ttl('kiro:log:wb')) > 0, 'logs expire');
    // The connection waits for Redis (maxRetriesPerRequest: null): a write never failed, so none was given up.
    assert.deepEqual(errors, []);
    writes.close();
  });

  it('the host registry drops a host that stops beating within three beats, and prunes it from the set', async function () {
    const r = client();
    const registry = new HostRegistry(r, 100);
    const beat = (id: string) =>
      registry.beat({ id, slots: 2, busy: 0, version: '0.1.0', accepting: true, lastSeen: new Date().toISOString(), slotStates: [] });
    await beat('alive');
    await beat('dying');
    assert.deepEqual(
      (await registry.live()).map((h) => h.id),
      ['alive', 'dying'],
    );
    const keepBeating = setInterval(() => void beat('alive'), 50);
    try {
      await pollUntil(async () => (await registry.live()).map((h) => h.id).join() === 'alive', {
        timeoutMs: 3_000,
        what: 'the silent host to go',
      });
    } finally {
      clearInterval(keepBeating);
    }
    assert.deepEqual(await r.zrange(keys.hosts, 0, -1), ['alive']);
    await registry.leave('alive');
    assert.deepEqual(await registry.live(), []);
  });
});
