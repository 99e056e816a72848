// One agent run, from spawn to exit: in its sandbox when the service has one,
// under the job's time limit, with the limits the kernel does not stop by itself
// (disk, output) and those it only counts (cgroup events) checked every second.
// Its output goes into the job's log through the preset's reader (agent/output.ts),
// which also finds the agent's final message and the tokens its events report; the
// moment those pass the job's budget (KIRO_JOB_MAX_TOKENS), the agent is stopped.
// The pool decides what the outcome means for the job; this only runs it and says
// what the agent's exit code means.
import { AgentOutput } from '../agent/output.js';
import { exitError, keyVarsOf, PRESETS } from '../agent/presets.js';
import { spawnAgent, type AgentExit, type AgentProcess } from '../agent/ptyRunner.js';
import { budgetExceeded, type BudgetViolation, type JobUsage } from '../agent/usage.js';
import type { WorkerConfig } from '../config.js';
import type { JobError } from '../jobs/job.js';
import type { ErrorCode } from '../../shared/errorCodes.js';
import type { JobLog } from '../jobs/log.js';
import { agentSecrets } from '../redaction/secrets.js';
import { blockedNote, type BlockedTarget } from '../sandbox/jobEgress.js';
import type { LimitViolation, SandboxRuntime } from '../sandbox/sandbox.js';
import { WorkerError } from '../errors.js';

/** How often a running agent's disk use, output and cgroup events are checked. */
const LIMIT_CHECK_MS = 1000;

/** A limit the agent broke: one of its sandbox's, or the job's token budget. */
export type AgentViolation = LimitViolation | BudgetViolation;

export interface AgentRunOptions {
  jobId: string;
  config: WorkerConfig;
  sandbox: SandboxRuntime | undefined;
  argv: string[];
  env: Record<string, string>;
  /** The job's working tree (the agent's cwd, its only writable host path). */
  tree: string;
  /** Git metadata the tree needs, shown read-only. */
  gitDirs: string[];
  log: JobLog;
  /** The agent is running (its pid known); the pool records it. */
  onSpawn(agent: AgentProcess): Promise<void>;
  /** The agent's events reported a new usage figure (the run's total so far). */
  onUsage?(usage: JobUsage): void;
}

export interface AgentRunResult {
  exit: AgentExit;
  /** A limit the agent broke; it was stopped for it (or, past its exit, nothing of its work may be pushed). */
  violation: AgentViolation | null;
  /** What the agent's events reported spending; null when they reported nothing (a plain-text agent). */
  usage: JobUsage | null;
  /** The agent's final message (for a plain-text agent, its last lines); null if it printed nothing. */
  summary: string | null;
  /**
   * What a non-zero exit code means, as the preset reads it (Kiro's 3: an MCP server did
   * not start), with what the agent said went wrong; null after exit 0, a signal or a stop.
   */
  failure: (JobError & { code: ErrorCode }) | null;
  /** What the sandbox's egress proxy refused the agent (each destination once, with a count). */
  blocked: BlockedTarget[];
}

export async function runAgent(o: AgentRunOptions): Promise<AgentRunResult> {
  const { config, log } = o;
  const preset = PRESETS[config.agentPreset];
  // The preset's fixed variables (telemetry and update checks off) unless the operator passes their own.
  const env = { ...preset.env, ...o.env };
  // Its keys and its template HOME's logins never reach the log, nor what is made of its output.
  log.protect(await agentSecrets(env, keyVarsOf(config.agentPreset, config.agentKeyVar), config.sandbox.homeTemplate));
  let agent: AgentProcess | null = null;
  let exited = false;
  let violation: AgentViolation | null = null;
  /** The first limit broken wins; the agent is stopped unless it has already exited. */
  const stopFor = (v: AgentViolation) => {
    if (violation) return;
    violation = v;
    log.note(`stopped: ${v.message}`);
    if (agent && !exited) void agent.stop('limit', config.killGraceMs);
  };
  const output = new AgentOutput(
    preset.output,
    (text) => log.write(text),
    (usage) => {
      o.onUsage?.(usage);
      const over = budgetExceeded(usage, config.jobMaxTokens);
      if (over) stopFor(over);
    },
    (text) => log.redact(text),
  );
  const sandbox = o.sandbox?.enabled
    ? await o.sandbox
        .prepare({
          id: o.jobId,
          tree: o.tree,
          gitDirs: o.gitDirs,
          agentPath: o.argv[0] ?? '',
          agentArgv: o.argv,
          env,
          onBlocked: (b) => log.note(blockedNote(b)),
        })
        .catch((e: unknown) => {
          throw new WorkerError('SANDBOX_FAILED', `could not prepare the agent's sandbox: ${(e as Error).message}`, 500);
        })
    : null;
  try {
    const onData = (d: string) => {
      // Output the reader holds back (half an event) or drops (bookkeeping events) is still not silence.
      log.lastOutputAt = Date.now();
      output.push(d);
    };
    const proc = spawnAgent({ argv: sandbox?.argv ?? o.argv, cwd: o.tree, env: sandbox?.env ?? env, onData, sandboxed: sandbox !== null });
    agent = proc;
    let checking: Promise<void> | null = null;
    // One check at a time: `du` over a big tree may take longer than the interval.
    const checkLimits = () => (checking ??= check().finally(() => (checking = null)));
    const check = async () => {
      // What the agent printed, not the (shorter) readable lines made of its events.
      const printed = Math.max(log.totalBytes, output.rawBytes);
      const v = sandbox
        ? await sandbox.check(printed)
        : printed > config.sandbox.maxOutputBytes
          ? { code: 'OUTPUT_LIMIT' as const, message: 'the agent printed more than KIRO_AGENT_MAX_OUTPUT_MB' }
          : null;
      if (v) stopFor(v);
    };
    const timer = setTimeout(() => void proc.stop('timeout', config.killGraceMs), config.jobTimeoutMs);
    const watch = setInterval(() => void checkLimits(), LIMIT_CHECK_MS);
    try {
      await o.onSpawn(proc).catch(async (e: unknown) => {
        await proc.stop('shutdown', 0);
        throw e;
      });
      const exit = await proc.exited;
      exited = true;
      // Its last event (a usage reported only at the end) may still pass the budget: then nothing is pushed.
      output.end();
      await checkLimits(); // a tree that grew past the limit in the last second is not pushed
      const failed = exit.exitCode !== 0 && !exit.signal && !exit.stoppedBy;
      return {
        exit,
        violation,
        usage: output.usage,
        summary: output.summary(log.lines()),
        failure: failed ? exitError(config.agentPreset, exit.exitCode, output.error()) : null,
        blocked: sandbox?.blocked() ?? [],
      };
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
    }
  } catch (e) {
    if (WorkerError.is(e)) throw e;
    throw new AgentSpawnError(`the agent could not be started: ${(e as Error).message}`);
  } finally {
    // Whatever is left in the sandbox dies here, before the service commits the tree.
    await sandbox?.release();
  }
}

/** The agent never started (the slot rests, as after a crash). */
export class AgentSpawnError extends WorkerError {
  constructor(message: string) {
    super('AGENT_SPAWN_FAILED', message, 500);
  }
  static override is(e: unknown): e is AgentSpawnError {
    return e instanceof AgentSpawnError;
  }
}
