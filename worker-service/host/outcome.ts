// What an agent's exit means for its job, as a pure function of how the run ended: a
// broken limit, a stop (timeout, cancel, silence, shutdown), a crash, a failing exit
// code, or a clean exit whose work is then committed and pushed. jobRunner.ts acts on it.
import type { JobState } from '../../shared/protocol.js';
import type { ErrorCode } from '../../shared/errorCodes.js';
import type { AgentExit } from '../agent/ptyRunner.js';
import type { JobError } from '../jobs/job.js';
import type { AgentViolation } from './agentRun.js';

export type RunOutcome =
  /** The job ends here: its final state and why; `crashed`: its slot rests first; `note`: a line for the job's log. */
  | { kind: 'end'; state: JobState; error: JobError & { code: ErrorCode }; crashed?: true; note?: string }
  /** The host is shutting down: the job goes back to the queue. */
  | { kind: 'requeue' }
  /** The agent exited 0 within every limit: its work is committed and pushed. */
  | { kind: 'push' };

export interface AgentEnd {
  exit: AgentExit;
  violation: AgentViolation | null;
  /** What the preset says a non-zero exit code means (see AgentRunResult.failure). */
  failure: (JobError & { code: ErrorCode }) | null;
}

export function outcomeOf({ exit, violation, failure }: AgentEnd, limits: { jobTimeoutMs: number; agentSilenceMs: number }): RunOutcome {
  const seconds = (ms: number) => Math.round(ms / 1000);
  if (violation) return { kind: 'end', state: 'failed', error: { code: violation.code, message: violation.message } };
  switch (exit.stoppedBy) {
    case 'timeout':
      return {
        kind: 'end',
        state: 'timed-out',
        note: `stopped: no result after ${seconds(limits.jobTimeoutMs)} s`,
        error: { code: 'TIMED_OUT', message: `the agent did not finish within ${seconds(limits.jobTimeoutMs)} seconds` },
      };
    case 'cancel':
      return { kind: 'end', state: 'cancelled', error: { code: 'CANCELLED', message: 'cancelled while the agent was running' } };
    case 'silence':
      return {
        kind: 'end',
        state: 'failed',
        error: { code: 'AGENT_SILENT', message: `the agent printed nothing for ${seconds(limits.agentSilenceMs)} seconds and was stopped` },
      };
    case 'shutdown':
      return { kind: 'requeue' };
  }
  if (exit.signal)
    return {
      kind: 'end',
      state: 'failed',
      crashed: true,
      error: { code: 'AGENT_CRASHED', message: `the agent was killed by signal ${exit.signal}` },
    };
  // The preset says what the code means (Kiro's 3: an MCP server did not start), with what the agent reported.
  if (exit.exitCode !== 0)
    return {
      kind: 'end',
      state: 'failed',
      error: failure ?? { code: 'AGENT_FAILED', message: `the agent exited with code ${exit.exitCode}` },
    };
  return { kind: 'push' };
}
