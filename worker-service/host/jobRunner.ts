// One job's run on one slot of this host: credential → checkout → TASK.md → the agent
// in its sandbox → commit → push. Used alike by the embedded queue and the fleet on
// Redis; where a job comes from, how its record is stored and who hears about it are
// the caller's (see RunContext). A run always ends with the job in a final state, or
// `queued` again when the host shuts down under it.
import type { GitHubFacts } from '../identity/githubFacts.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isFinalState, type JobState } from '../../shared/protocol.js';
import type { ErrorCode } from '../../shared/errorCodes.js';
import { AGENT_PROMPT, agentEnv, expandCommand, type AgentLookup } from '../agent/command.js';
import type { AgentExit, AgentProcess } from '../agent/ptyRunner.js';
import type { WorkerConfig } from '../config.js';
import type { Checkout, Workspaces } from '../git/workspace.js';
import { PushConflictError } from '../errors.js';
import type { CredentialSource, JobCredential } from '../github/credentials.js';
import type { Job, JobError } from '../jobs/job.js';
import { finishJob } from '../jobs/rules.js';
import type { JobLog } from '../jobs/log.js';
import type { SandboxRuntime } from '../sandbox/sandbox.js';
import { AgentSpawnError, runAgent, type AgentViolation } from './agentRun.js';
import { WorkerError } from '../errors.js';
import { outcomeOf } from './outcome.js';
import { prStillOpen } from './prStillOpen.js';
import { PhaseTimes } from './phases.js';
import type { Slot } from './slot.js';
import { addressedComments } from '../steering/taskText.js';

/** Installation tokens expire after 60 minutes; older than this, a job gets a new one before it pushes. */
const APP_TOKEN_REFRESH_MS = 45 * 60_000;
/** While the agent runs, its reported usage is announced no more often than this. */
const USAGE_EVENT_MS = 2_000;

export interface RunContext {
  config: WorkerConfig;
  workspaces: Workspaces;
  credentials: CredentialSource;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  sandbox?: SandboxRuntime;
  /** Looks the agent up again (it may have been installed since the last job). */
  findAgent(): AgentLookup;
  /** Stores the job (durably when asked: the attempt count bounds re-runs) and announces it. */
  save(job: Job, durable: boolean): Promise<void>;
  /** Whether a cancel of this job has been asked for (checked up to the moment a push starts). */
  cancelled(jobId: string): boolean;
  /** The job's log for this attempt (the caller keeps it for readers until the run ends). */
  openLog(job: Job): JobLog;
  /**
   * Right before each push: a fleet makes sure the job is still this host's (its lock held
   * in Redis); it throws when not, and nothing is pushed.
   */
  beforePush?(job: Job): Promise<void>;
  /** What GitHub says of the job's pull request: it must still be open with the job's branch as its head when the push starts. */
  facts?: GitHubFacts;
  agentStarted?(job: Job, agent: AgentProcess): void;
  agentExited?(job: Job): void;
}

export interface RunResult {
  /** The agent crashed or could not start: its slot rests before the next job. */
  crashed: boolean;
  /** The host is shutting down: the job is `queued` again, for this host's next start or another host. */
  requeue: boolean;
  /** The credential the job ran with, to release once its PR is followed up. */
  credential: JobCredential | undefined;
  /** Where the run's time went; the caller adds what it does after (settling the tree). */
  phases: PhaseTimes;
  ms: number;
}

/**
 * The agent's commit: a subject for people, a trailer by which a re-run finds it, and one
 * `Addresses:` trailer per review comment the round answers (steering/taskText.ts).
 */
export function agentCommitMessage(job: Job): string {
  const { owner, repo, prNumber, taskDescription } = job.request;
  const addresses = addressedComments(taskDescription, { owner, repo, number: prNumber })
    .map((u) => `\nAddresses: ${u}`)
    .join('');
  return `feat: ${job.request.title}\n\nKiro-Job: ${job.id}${addresses}`;
}

/** Thrown before a push when the branch already holds this job's commit (a re-run after its host died). */
class AlreadyPushed extends Error {
  constructor(readonly sha: string) {
    super('already pushed');
  }
}

export async function runJob(ctx: RunContext, slot: Slot, job: Job): Promise<RunResult> {
  const { config, workspaces, log } = ctx;
  const { owner, repo, branch } = job.request;
  const started = Date.now();
  const setState = async (state: JobState) => {
    job.state = state;
    await ctx.save(job, state === 'preparing');
  };
  job.attempts += 1;
  job.slotId = slot.id;
  job.startedAt = new Date().toISOString();
  // Assigned together so that TypeScript does not narrow job.error to null for the rest of the run.
  Object.assign(job, {
    finishedAt: null,
    error: null,
    exitCode: null,
    signal: null,
    commitSha: null,
    summary: null,
    usage: null,
    blocked: null,
  });
  const phases = new PhaseTimes();
  await setState('preparing');
  phases.lap('record');
  const jobLog = ctx.openLog(job);
  if (job.attempts > 1) jobLog.note(`attempt ${job.attempts}: the previous run was interrupted; starting again from a clean checkout`);
  let crashed = false;
  let requeue = false;
  let cred: JobCredential | undefined;
  try {
    const agent = ctx.findAgent();
    if (!agent.found) throw new WorkerError('AGENT_NOT_FOUND', agent.message, 500);
    try {
      cred = await ctx.credentials.forRepository(owner, repo);
    } catch (e) {
      throw new WorkerError('CREDENTIALS_FAILED', `could not get a GitHub credential for ${owner}/${repo}: ${(e as Error).message}`, 502);
    }
    let checkout: Checkout;
    try {
      phases.lap('credentials');
      checkout = await workspaces.prepare(slot.id, owner, repo, branch, cred.token);
      phases.lap('checkout');
      phases.split('checkout', 'fetch', checkout.fetchMs ?? 0);
    } catch (e) {
      throw new WorkerError('CHECKOUT_FAILED', `could not check out ${owner}/${repo} branch ${branch}: ${(e as Error).message}`, 500);
    }
    slot.warm.set(`${owner}/${repo}`.toLowerCase(), { owner, repo, usedAt: Date.now() });
    // A run after an interrupted one: the first may have pushed before its host went away.
    const pushedBefore = (onto: string) => (job.attempts > 1 ? workspaces.jobCommit(checkout, onto, job.id) : Promise.resolve(null));
    const earlier = await pushedBefore(checkout.startSha);
    if (earlier) throw new AlreadyPushed(earlier);
    const taskFile = join(checkout.dir, 'TASK.md');
    // O_EXCL: never through a link the branch may hold in its place (a dangling one reads as missing).
    const wroteTask = await writeFile(taskFile, job.request.taskDescription, { flag: 'wx' }).then(
      () => true,
      () => false,
    );
    if (ctx.cancelled(job.id)) throw new WorkerError('CANCELLED', 'cancelled while preparing', 499);

    const agentArgv = expandCommand(config.agentCommand, { prompt: AGENT_PROMPT, taskFile });
    agentArgv[0] = agent.path ?? agentArgv[0] ?? '';
    let exit: AgentExit;
    let violation: AgentViolation | null;
    let failure: (JobError & { code: ErrorCode }) | null;
    try {
      let usageToldAt = 0;
      ({
        exit,
        violation,
        failure,
        summary: job.summary,
        usage: job.usage,
        blocked: job.blocked,
      } = await runAgent({
        jobId: job.id,
        config,
        sandbox: ctx.sandbox,
        argv: agentArgv,
        env: agentEnv(ctx.env ?? process.env, config.agentEnvAllow),
        tree: checkout.dir,
        gitDirs: [workspaces.mirrorDir(owner, repo)],
        log: jobLog,
        // Usage as the agent reports it, on the job (GET /jobs/:id) and announced at most every 2 s.
        onUsage: (usage) => {
          job.usage = usage;
          if (Date.now() - usageToldAt < USAGE_EVENT_MS) return;
          usageToldAt = Date.now();
          void ctx.save(job, false).catch(() => undefined);
        },
        onSpawn: async (proc) => {
          phases.lap('spawn'); // the sandbox's preparation included
          slot.agent = proc;
          // A cancel that came while the sandbox was being made: the agent stops at once.
          if (ctx.cancelled(job.id)) void proc.stop('cancel', config.killGraceMs);
          job.agentPid = proc.pid;
          ctx.agentStarted?.(job, proc);
          await setState('running');
          phases.lap('record');
        },
      }));
      phases.lap('agent');
      ctx.agentExited?.(job);
    } catch (e) {
      if (AgentSpawnError.is(e)) crashed = true;
      throw e;
    } finally {
      slot.agent = null;
      job.agentPid = null;
    }
    job.exitCode = exit.exitCode;
    job.signal = exit.signal ? String(exit.signal) : null;

    const outcome = outcomeOf({ exit, violation, failure }, config);
    if (outcome.kind === 'end') {
      if (outcome.note) jobLog.note(outcome.note);
      if (outcome.crashed) crashed = true;
      finishJob(job, outcome.state, outcome.error);
    } else if (outcome.kind === 'requeue') {
      requeue = true;
    } else {
      await setState('pushing');
      phases.lap('record');
      try {
        if (cred.kind === 'app' && Date.now() - started > APP_TOKEN_REFRESH_MS) {
          // An installation token lives an hour: a long job pushes with a fresh one.
          const old = cred;
          cred = await ctx.credentials.forRepository(owner, repo);
          await old.release();
        }
        let onto = checkout.startSha;
        const sha = await workspaces.publish(checkout, {
          owner,
          repo,
          branch,
          message: agentCommitMessage(job),
          author: { name: config.agentName, email: config.agentEmail },
          exclude: wroteTask ? ['TASK.md'] : [],
          token: cred.token,
          // The last moment a cancel wins: once git push has started, the push does.
          beforePush: async (base) => {
            if (ctx.cancelled(job.id)) throw new WorkerError('CANCELLED', 'cancelled before its changes were pushed', 499);
            await ctx.beforePush?.(job);
            await prStillOpen(ctx.facts, ctx.config.identity.mode, job);
            // The branch moved while the agent worked: perhaps an earlier run of this very job pushed (its host was
            // thought dead but was not); then that push is the job's, and nothing is pushed twice.
            const pushed = base === checkout.startSha ? null : await workspaces.jobCommit(checkout, base, job.id);
            if (pushed) throw new AlreadyPushed(pushed);
            onto = base;
          },
        });
        phases.lap('publish');
        job.commitSha = sha;
        if (sha) {
          jobLog.note(`pushed ${sha.slice(0, 12)} to ${branch}`);
          // The agent's work only: from the commit it was pushed onto (a human's commits before it are not its).
          job.changes = await workspaces.diffStat(checkout, onto, sha).catch((e: unknown) => {
            log.warn({ jobId: job.id, err: String(e) }, 'could not count the pushed changes');
            return null;
          });
          finishJob(job, 'succeeded');
        } else finishJob(job, 'no-changes', { code: 'NO_CHANGES', message: 'the agent finished without changing any file' });
      } catch (e) {
        if (
          (WorkerError.is(e) && (e.code === 'CANCELLED' || e.code === 'PR_CHANGED' || e.code === 'FORBIDDEN')) ||
          e instanceof AlreadyPushed
        )
          throw e;
        const conflict = e instanceof PushConflictError;
        finishJob(job, 'failed', {
          code: conflict ? 'PUSH_CONFLICT' : 'PUSH_FAILED',
          message: conflict ? e.message : `could not push to ${branch}: ${(e as Error).message}`,
        });
      }
    }
  } catch (e) {
    if (e instanceof AlreadyPushed) {
      // Never a second push of one job: the interrupted run's commit is the job's result.
      jobLog.note(`the interrupted attempt had already pushed ${e.sha.slice(0, 12)}; not running the agent again`);
      job.commitSha = e.sha;
      finishJob(job, 'succeeded');
    } else if (WorkerError.is(e) && e.code === 'CANCELLED') finishJob(job, 'cancelled', { code: 'CANCELLED', message: e.message });
    else if (WorkerError.is(e)) finishJob(job, 'failed', { code: e.code, message: e.message });
    else finishJob(job, 'failed', { code: 'INTERNAL', message: 'the worker failed while running this job; see its log' });
    if (!WorkerError.is(e) && !(e instanceof AlreadyPushed))
      log.error({ jobId: job.id, err: String(e) }, 'job failed with an unexpected error');
  }
  if (job.state !== 'queued' && !isFinalState(job.state) && !requeue)
    finishJob(job, 'failed', { code: 'INTERNAL', message: 'job ended in an unexpected state' });
  if (requeue) {
    job.state = 'queued';
    job.slotId = null;
    // Stopped in good order (the host is shutting down), not interrupted: it does not count against the job.
    job.attempts -= 1;
    jobLog.note('worker shutting down: job goes back to the queue');
  } else {
    jobLog.note(`job ${job.state}${job.error ? `: ${job.error.message}` : ''}`);
  }
  phases.lap('finish');
  job.outputTail = jobLog.lines();
  await ctx.save(job, true);
  phases.lap('record');
  await jobLog.close(); // readers following it get the end, and the file is complete
  phases.lap('log');
  return { crashed, requeue, credential: cred, phases, ms: Date.now() - started };
}
