import assert from 'node:assert/strict';
import { ROUNDS_SYNC_MAX_MS, roundsSyncDue, roundsSyncPeriodMs } from '../../../extension/delegations/syncSchedule.js';

describe('when a window asks the worker for rounds started elsewhere', () => {
  it('asks at most every 15 s whatever the PR poll interval, and as often as a shorter one', () => {
    assert.equal(roundsSyncPeriodMs(600_000), ROUNDS_SYNC_MAX_MS);
    assert.equal(roundsSyncPeriodMs(20_000), 15_000);
    assert.equal(roundsSyncPeriodMs(2_000), 2_000);
    assert.equal(roundsSyncPeriodMs(0), 1_000, 'never a busy loop');
  });

  it('asks on every tick while focused and on every fourth while not', () => {
    const ticks = [1, 2, 3, 4, 5, 6, 7, 8];
    assert.deepEqual(
      ticks.filter((t) => roundsSyncDue(t, true)),
      ticks,
    );
    assert.deepEqual(
      ticks.filter((t) => roundsSyncDue(t, false)),
      [4, 8],
    );
  });
});
