// What an agent's exit means for its job (host/outcome.ts): one row per way a run ends.
import assert from 'node:assert/strict';
import type { AgentExit } from '../../../worker-service/agent/ptyRunner.js';
import { outcomeOf, type AgentEnd } from '../../../worker-service/host/outcome.js';

const limits = { jobTimeoutMs: 90_000, agentSilenceMs: 30_000 };
const exit = (over: Partial<AgentExit> = {}): AgentExit => ({ exitCode: 0, signal: 0, stoppedBy: null, ...over });
const end = (over: Partial<AgentEnd> = {}): AgentEnd => ({ exit: exit(), violation: null, failure: null, ...over });

describe('outcomeOf: what an agent exit means for its job', () => {
  it('a clean exit 0 is pushed', () => {
    assert.deepEqual(outcomeOf(end(), limits), { kind: 'push' });
  });

  it("a broken limit fails the job with the limit's code, before anything else (even after exit 0, or a stop)", () => {
    const violation = { code: 'DISK_LIMIT' as const, message: 'the tree grew past KIRO_AGENT_MAX_DISK_MB' };
    for (const e of [exit(), exit({ stoppedBy: 'limit', signal: 15 }), exit({ stoppedBy: 'timeout' })]) {
      assert.deepEqual(outcomeOf(end({ exit: e, violation }), limits), { kind: 'end', state: 'failed', error: violation });
    }
  });

  it('stops: timeout (with a note for the log), cancel, silence; shutdown goes back to the queue', () => {
    assert.deepEqual(outcomeOf(end({ exit: exit({ stoppedBy: 'timeout', signal: 15 }) }), limits), {
      kind: 'end',
      state: 'timed-out',
      note: 'stopped: no result after 90 s',
      error: { code: 'TIMED_OUT', message: 'the agent did not finish within 90 seconds' },
    });
    assert.deepEqual(outcomeOf(end({ exit: exit({ stoppedBy: 'cancel', signal: 15 }) }), limits), {
      kind: 'end',
      state: 'cancelled',
      error: { code: 'CANCELLED', message: 'cancelled while the agent was running' },
    });
    assert.deepEqual(outcomeOf(end({ exit: exit({ stoppedBy: 'silence', signal: 9 }) }), limits), {
      kind: 'end',
      state: 'failed',
      error: { code: 'AGENT_SILENT', message: 'the agent printed nothing for 30 seconds and was stopped' },
    });
    assert.deepEqual(outcomeOf(end({ exit: exit({ stoppedBy: 'shutdown', signal: 15, exitCode: 1 }) }), limits), { kind: 'requeue' });
  });

  it('killed by a signal nobody sent is a crash (the slot rests)', () => {
    assert.deepEqual(outcomeOf(end({ exit: exit({ signal: 11 }) }), limits), {
      kind: 'end',
      state: 'failed',
      crashed: true,
      error: { code: 'AGENT_CRASHED', message: 'the agent was killed by signal 11' },
    });
  });

  it('a non-zero exit fails with what the preset says it means, or AGENT_FAILED', () => {
    const failure = { code: 'AGENT_MCP_FAILED' as const, message: 'an MCP server did not start' };
    assert.deepEqual(outcomeOf(end({ exit: exit({ exitCode: 3 }), failure }), limits), { kind: 'end', state: 'failed', error: failure });
    assert.deepEqual(outcomeOf(end({ exit: exit({ exitCode: 2 }) }), limits), {
      kind: 'end',
      state: 'failed',
      error: { code: 'AGENT_FAILED', message: 'the agent exited with code 2' },
    });
  });
});
