import assert from 'node:assert/strict';
import { compareProtocol, protocolProblem, UNDERSTOOD_PROTOCOLS } from '../../../extension/worker/protocolCompat.js';
import { describeHealth } from '../../../extension/ui/healthView.js';
import { PROTOCOL_VERSION, type PoolHealth } from '../../../shared/protocol.js';

const health = (protocol: unknown): PoolHealth => ({
  slots: [{ id: 0, state: 'idle', jobId: null, since: '2026-01-01T00:00:00.000Z' }],
  queued: 0,
  running: 0,
  capacity: 1,
  queueLimit: 10,
  accepting: true,
  agent: { command: 'kiro-cli', found: true, message: '' },
  version: '0.1.0',
  // An older or foreign worker may send anything here.
  protocol: protocol as number,
  uptimeSeconds: 5,
});

describe('worker protocol version', function () {
  it('understands its own protocol', function () {
    assert.equal(UNDERSTOOD_PROTOCOLS.newest, PROTOCOL_VERSION);
    assert.deepEqual(compareProtocol(PROTOCOL_VERSION), { kind: 'compatible', worker: PROTOCOL_VERSION });
    assert.equal(protocolProblem(compareProtocol(PROTOCOL_VERSION)), undefined);
  });

  it('tells older, newer and unstated apart, within a range', function () {
    const range = { oldest: 2, newest: 4 };
    assert.deepEqual(compareProtocol(1, range), { kind: 'worker-older', worker: 1, oldest: 2 });
    assert.deepEqual(compareProtocol(2, range), { kind: 'compatible', worker: 2 });
    assert.deepEqual(compareProtocol(4, range), { kind: 'compatible', worker: 4 });
    assert.deepEqual(compareProtocol(5, range), { kind: 'worker-newer', worker: 5, newest: 4 });
    for (const unstated of [undefined, null, '3', 2.5, Number.NaN])
      assert.deepEqual(compareProtocol(unstated, range), { kind: 'worker-older', worker: undefined, oldest: 2 }, String(unstated));
  });

  it('says who updates what', function () {
    const older = protocolProblem(compareProtocol(0), 'http://w:8080') ?? '';
    assert.match(older, /worker at http:\/\/w:8080 is older/);
    assert.match(older, /Update the worker service/);
    const newer = protocolProblem(compareProtocol(PROTOCOL_VERSION + 1)) ?? '';
    assert.match(newer, /^The Kiro worker is newer than this extension understands/);
    assert.match(newer, /Update the Kiro Delegate extension/);
  });

  it('puts a mismatch first in the status bar tooltip, as a warning', function () {
    const ok = describeHealth({ kind: 'ok', health: health(PROTOCOL_VERSION) });
    assert.equal(ok.severity, 'normal');
    assert.doesNotMatch(ok.tooltip, /understands/);
    const newer = describeHealth({ kind: 'ok', health: health(PROTOCOL_VERSION + 1) });
    assert.equal(newer.severity, 'warning');
    assert.match(newer.text, /^\$\(warning\) Kiro 0\/1 busy/);
    assert.match(newer.tooltip, /^⚠ The Kiro worker is newer than this extension understands.*Update the Kiro Delegate extension/);
    assert.match(describeHealth({ kind: 'ok', health: health(undefined) }).tooltip, /^⚠ The Kiro worker is older.*protocol: not stated/);
  });
});
