// The pool: N slots, a bounded durable queue, round-robin dispatch to idle slots,
// and each job's life from checkout to push. Nothing accepted is lost: a job is on
// disk before it is acknowledged, and jobs interrupted by a crash run again once.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isFinalState, PROTOCOL_VERSION, type GenerateCodeRequest, type JobState, type PoolHealth } from '../../shared/protocol.js';
import { AGENT_PROMPT, agentEnv, expandCommand, findAgent, type AgentLookup } from '../agent/command.js';
import type { AgentExit } from '../agent/ptyRunner.js';
import type { WorkerConfig } from '../config.js';
import { PushConflictError, type Workspaces, type Checkout } from '../git/workspace.js';
import type { Commenter } from '../github/comments.js';
import type { PrFinisher } from '../github/finish.js';
import type { CredentialSource, JobCredential } from '../github/credentials.js';
import { scopeKeyOf, type Job, type JobError } from '../jobs/job.js';
import { JobLog, logPath } from '../jobs/log.js';
import type { JobStore } from '../jobs/store.js';
import { QueueFullError, WorkerError } from './errors.js';
import { Slot } from './slot.js';
import type { LimitViolation, SandboxRuntime } from '../sandbox/sandbox.js';
import { AgentSpawnError, runAgent } from './agentRun.js';
import { PhaseTimes } from './phases.js';

export interface PoolDeps {
  config: WorkerConfig;
  store: JobStore;
  workspaces: Workspaces;
  /** Each job's GitHub credential (fetch, push, PR comment), released when the job is over. */
  credentials: CredentialSource;
  log: Logger;
  commenter?: Commenter;
  /** After a push: a draft PR made ready for review, the delegating user asked to review. */
  finisher?: PrFinisher;
  version: string;
  /** The environment the agent's allow-list draws from (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Confines every agent; absent only in unit tests of the pool's bookkeeping. */
  sandbox?: SandboxRuntime;
}

export interface PoolEvents {
  job: [Job];
  'agent-started': [Job, number];
  'agent-exited': [Job, number];
  'slot': [Slot];
}

const MAX_ATTEMPTS = 2;

const branchKeyOf = (job: Job) => `${job.request.owner}/${job.request.repo}#${job.request.branch}`.toLowerCase();
/** Installation tokens expire after 60 minutes; older than this, a job gets a new one before it pushes. */
const APP_TOKEN_REFRESH_MS = 45 * 60_000;
/** How long a cancel of a job being pushed waits to answer with the push's outcome. */
const CANCEL_PUSH_WAIT_MS = 8_000;

export class Pool extends EventEmitter<PoolEvents> {
  readonly jobs = new Map<string, Job>();
  private readonly byScope = new Map<string, string>();
  /** Saves under way, so that a concurrent duplicate waits for the first one to be durable. */
  private readonly pendingSaves = new Map<string, Promise<void>>();
  private readonly queue: string[] = [];
  readonly slots: Slot[];
  private readonly logs = new Map<string, JobLog>();
  private readonly cancelRequested = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** Each recent job's time by phase (for the benchmark's breakdown). */
  readonly phaseTimes = new Map<string, Record<string, number>>();
  /** Branches (owner/repo#branch) with a job on a slot now. */
  private readonly busyBranches = new Set<string>();
  /** PR comments and credential releases still under way after their job ended. */
  private readonly followUps = new Set<Promise<void>>();
  private rr = 0;
  private monitorTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  private readonly durations: number[] = [];
  accepting = true;
  agent: AgentLookup;

  constructor(private readonly deps: PoolDeps) {
    super();
    this.slots = Array.from({ length: deps.config.slots }, (_, i) => new Slot(i));
    this.agent = findAgent(deps.config.agentCommand[0] ?? '');
  }

  get workspaces(): Workspaces {
    return this.deps.workspaces;
  }

  private get config(): WorkerConfig {
    return this.deps.config;
  }

  /** Loads jobs from disk: queued ones wait again, interrupted ones run again once. */
  async init(): Promise<void> {
    await this.deps.store.init();
    await mkdir(join(this.config.stateDir, 'logs'), { recursive: true });
    const jobs = await this.deps.store.loadAll((file, e) => this.deps.log.error({ file, err: e.message }, 'unreadable job record skipped'));
    for (const job of jobs) {
      this.jobs.set(job.id, job);
      this.byScope.set(job.scopeKey, job.id);
      if (isFinalState(job.state)) continue;
      if (job.agentPid) {
        // The agent ran in its own session and outlived the service: stop its group before the job runs again.
        try {
          process.kill(-job.agentPid, 'SIGKILL');
          this.deps.log.warn({ jobId: job.id, pid: job.agentPid }, 'stopped an agent orphaned by a service crash');
        } catch { /* already gone */ }
        job.agentPid = null;
      }
      if (job.state !== 'queued') {
        if (job.attempts >= MAX_ATTEMPTS) {
          this.finish(job, 'failed', { code: 'INTERRUPTED', message: `the worker stopped during this job ${job.attempts} times; not trying again` });
          await this.deps.store.save(job);
          continue;
        }
        this.deps.log.warn({ jobId: job.id, state: job.state, attempts: job.attempts }, 'job was interrupted by a restart; running it again');
        job.state = 'queued';
        job.slotId = null;
        await this.deps.store.save(job);
      }
      this.queue.push(job.id);
    }
    this.deps.log.info({ agent: this.agent.message, found: this.agent.found, slots: this.slots.length, queued: this.queue.length }, this.agent.found ? 'agent ready' : 'AGENT MISSING: jobs will fail until it is installed');
    this.monitorTimer = setInterval(() => void this.monitor(), this.config.healthIntervalMs);
    this.monitorTimer.unref();
    this.dispatch();
  }

  position(job: Job): number {
    const i = this.queue.indexOf(job.id);
    return i < 0 ? 0 : i;
  }

  /** Accepts a job (or returns the one already made for this idempotency key). */
  async submit(request: GenerateCodeRequest): Promise<{ job: Job; created: boolean }> {
    const scopeKey = scopeKeyOf(request);
    const existingId = this.byScope.get(scopeKey);
    const existing = existingId ? this.jobs.get(existingId) : undefined;
    if (existing) {
      await this.pendingSaves.get(existing.id);
      if (existing.request.prNumber !== request.prNumber || existing.request.title !== request.title) {
        throw new WorkerError('IDEMPOTENCY_CONFLICT', `idempotency key ${request.idempotencyKey} was already used for another pull request on ${request.branch}`, 409, 'idempotencyKey');
      }
      return { job: existing, created: false };
    }
    if (!this.accepting) throw new QueueFullError(30, 'the worker is shutting down; try again shortly');
    const idle = this.slots.some((s) => s.state === 'idle');
    if (!idle && this.queue.length >= this.config.queueLimit) throw new QueueFullError(this.retryAfterSeconds());
    const job: Job = {
      id: randomUUID(), scopeKey, request, state: 'queued', attempts: 0, slotId: null, createdAt: new Date().toISOString(),
      startedAt: null, finishedAt: null, exitCode: null, signal: null, commitSha: null, error: null, outputTail: [],
    };
    // Reserved at once (a concurrent duplicate finds it), durable before acknowledged.
    this.jobs.set(job.id, job);
    this.byScope.set(scopeKey, job.id);
    const saving = this.deps.store.save(job);
    this.pendingSaves.set(job.id, saving.catch(() => undefined));
    try {
      await saving;
    } catch (e) {
      this.jobs.delete(job.id);
      this.byScope.delete(scopeKey);
      throw e;
    } finally {
      this.pendingSaves.delete(job.id);
    }
    this.queue.push(job.id);
    this.emit('job', job);
    this.dispatch();
    return { job, created: true };
  }

  /** Seconds a client should wait before trying again, from how long jobs take here. */
  retryAfterSeconds(): number {
    const avgMs = this.durations.length ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : 30_000;
    return Math.min(600, Math.max(5, Math.ceil(((this.queue.length / this.slots.length) * avgMs) / 1000)));
  }

  async cancel(id: string): Promise<Job> {
    const job = this.jobs.get(id);
    if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    if (isFinalState(job.state)) return job;
    const qi = this.queue.indexOf(id);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      this.finish(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' });
      await this.deps.store.save(job);
      this.emit('job', job);
      const { owner, repo } = job.request;
      if (this.deps.commenter) this.followUp(job, () => this.deps.credentials.forRepository(owner, repo));
      return job;
    }
    // Honoured up to the moment a push starts (see beforePush in runJob); a push under way is
    // not interrupted, since git cannot tell whether a killed push landed. So a job being
    // pushed ends `succeeded` with its commit, or `cancelled` with nothing pushed: the
    // answer waits (a while) for which.
    this.cancelRequested.add(id);
    const slot = this.slots.find((s) => s.jobId === id);
    if (slot?.agent) await slot.agent.stop('cancel', this.config.killGraceMs);
    // The answer says how the job ended (cancelled, or pushed after all), not the moment in between.
    await this.ended(job, CANCEL_PUSH_WAIT_MS);
    return job;
  }

  /** Resolves once the job is in a final state, or after `ms`. */
  private ended(job: Job, ms: number): Promise<void> {
    if (isFinalState(job.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const onJob = (j: Job) => {
        if (j.id === job.id && isFinalState(j.state)) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.off('job', onJob);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.on('job', onJob);
    });
  }

  /**
   * What a job's PR hears once the job has ended: a comment (the summary of a push, or
   * why nothing was pushed), and after a push the PR made ready for review and the
   * delegating user asked to review. The job's credential (`credential()`: the one it ran
   * with, or one made for a job cancelled in the queue) is released only then. Never
   * fails the job: problems are logged.
   */
  private followUp(job: Job, credential: () => Promise<JobCredential | undefined>): void {
    const { commenter, finisher, log } = this.deps;
    const commenting = commenter && isFinalState(job.state);
    const finishing = finisher && job.state === 'succeeded';
    const run = async () => {
      const held = await credential();
      try {
        if (commenting) await commenter(job, held?.token).catch((e: unknown) => log.warn({ jobId: job.id, err: String(e) }, 'could not comment on the pull request'));
        if (finishing) {
          const outcome = await finisher(job, held?.token);
          const fields = { jobId: job.id, readyForReview: outcome.readyForReview, review: outcome.review };
          if (outcome.warnings.length) log.warn({ ...fields, warnings: outcome.warnings }, 'the pull request was not fully made ready for review');
          else log.info(fields, 'pull request followed up');
        }
      } finally {
        await held?.release();
      }
    };
    const followUp = run().catch((e: unknown) => log.warn({ jobId: job.id, err: String(e) }, 'could not follow up on the pull request'));
    this.followUps.add(followUp);
    void followUp.then(() => this.followUps.delete(followUp));
  }

  logOf(id: string): JobLog | undefined {
    return this.logs.get(id);
  }

  health(): PoolHealth {
    return {
      slots: this.slots.map((s) => s.health()),
      queued: this.queue.length,
      running: this.slots.filter((s) => s.state === 'busy').length,
      capacity: this.slots.length,
      queueLimit: this.config.queueLimit,
      accepting: this.accepting,
      agent: { command: this.agent.command, found: this.agent.found, message: this.agent.message },
      ...(this.deps.sandbox ? { sandbox: this.deps.sandbox.status() } : {}),
      version: this.deps.version,
      protocol: PROTOCOL_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  /** Gives queued jobs to idle slots, round-robin. */
  /**
   * Gives queued jobs to idle slots, round-robin, oldest first — except that two
   * jobs for one branch never run at once: a follow-up waits for the round before
   * it, so that it starts from that round's result.
   */
  dispatch(): void {
    if (!this.accepting) return;
    for (;;) {
      if (!this.slots.some((s) => s.state === 'idle')) return;
      const at = this.queue.findIndex((id) => {
        const job = this.jobs.get(id);
        return !job || !this.busyBranches.has(branchKeyOf(job));
      });
      if (at < 0) return;
      const [id] = this.queue.splice(at, 1);
      const job = id ? this.jobs.get(id) : undefined;
      if (!job) continue;
      const slot = this.nextIdleSlot();
      if (!slot) return;
      const branch = branchKeyOf(job);
      this.busyBranches.add(branch);
      slot.set('busy', job.id);
      this.emit('slot', slot);
      const p = this.runJob(slot, job)
        .catch((e: unknown) => this.deps.log.error({ jobId: job.id, err: String(e) }, 'job runner failed unexpectedly'))
        .finally(() => {
          this.running.delete(p);
          this.busyBranches.delete(branch);
          this.dispatch();
        });
      this.running.add(p);
    }
  }

  private nextIdleSlot(): Slot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.rr + i) % this.slots.length];
      if (slot?.state === 'idle') {
        this.rr = (slot.id + 1) % this.slots.length;
        return slot;
      }
    }
    return undefined;
  }

  private finish(job: Job, state: JobState, error: JobError | null = null): void {
    job.state = state;
    job.error = error;
    job.finishedAt = new Date().toISOString();
  }

  private async setState(job: Job, state: JobState): Promise<void> {
    job.state = state;
    // Only the attempt count must reach the disk before the agent runs (it bounds re-runs after crashes).
    await this.deps.store.save(job, state === 'preparing');
    this.emit('job', job);
  }

  private async runJob(slot: Slot, job: Job): Promise<void> {
    const { config, workspaces, log } = this.deps;
    const { owner, repo, branch, title } = job.request;
    const started = Date.now();
    job.attempts += 1;
    job.slotId = slot.id;
    job.startedAt = new Date().toISOString();
    // Assigned together so that TypeScript does not narrow job.error to null for the rest of the run.
    Object.assign(job, { finishedAt: null, error: null, exitCode: null, signal: null, commitSha: null });
    const phases = new PhaseTimes();
    this.phaseTimes.set(job.id, phases.ms);
    if (this.phaseTimes.size > 1000) this.phaseTimes.delete(this.phaseTimes.keys().next().value ?? '');
    await this.setState(job, 'preparing');
    phases.lap('record');
    const jobLog = new JobLog(logPath(config.stateDir, job.id), config.sandbox.maxOutputBytes);
    this.logs.set(job.id, jobLog);
    if (job.attempts > 1) jobLog.note(`attempt ${job.attempts}: the previous run was interrupted; starting again from a clean checkout`);
    let crashed = false;
    let requeue = false;
    let cred: JobCredential | undefined;
    try {
      this.agent = findAgent(config.agentCommand[0] ?? '', this.deps.env?.PATH ?? process.env.PATH);
      if (!this.agent.found) throw new WorkerError('AGENT_NOT_FOUND', this.agent.message, 500);

      try {
        cred = await this.deps.credentials.forRepository(owner, repo);
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
      const taskFile = join(checkout.dir, 'TASK.md');
      // O_EXCL: never through a link the branch may hold in its place (a dangling one reads as missing).
      const wroteTask = await writeFile(taskFile, job.request.taskDescription, { flag: 'wx' }).then(() => true, () => false);
      if (this.cancelRequested.has(job.id)) throw new WorkerError('CANCELLED', 'cancelled while preparing', 499);

      const agentArgv = expandCommand(config.agentCommand, { prompt: AGENT_PROMPT, taskFile });
      agentArgv[0] = this.agent.path ?? agentArgv[0] ?? '';
      let exit: AgentExit;
      let violation: LimitViolation | null;
      try {
        ({ exit, violation } = await runAgent({
          jobId: job.id, config, sandbox: this.deps.sandbox, argv: agentArgv, env: agentEnv(this.deps.env ?? process.env, config.agentEnvAllow),
          tree: checkout.dir, gitDirs: [workspaces.mirrorDir(owner, repo)], log: jobLog,
          onSpawn: async (agent) => {
            phases.lap('spawn'); // the sandbox's preparation included
            slot.agent = agent;
            // A cancel that came while the sandbox was being made: the agent stops at once.
            if (this.cancelRequested.has(job.id)) void agent.stop('cancel', config.killGraceMs);
            job.agentPid = agent.pid;
            this.emit('agent-started', job, Date.now());
            await this.setState(job, 'running');
            phases.lap('record');
          },
        }));
        phases.lap('agent');
        this.emit('agent-exited', job, Date.now());
      } catch (e) {
        if (AgentSpawnError.is(e)) crashed = true;
        throw e;
      } finally {
        slot.agent = null;
        job.agentPid = null;
      }
      job.exitCode = exit.exitCode;
      job.signal = exit.signal ? String(exit.signal) : null;

      if (violation) {
        this.finish(job, 'failed', { code: violation.code, message: violation.message });
      } else if (exit.stoppedBy === 'timeout') {
        jobLog.note(`stopped: no result after ${Math.round(config.jobTimeoutMs / 1000)} s`);
        this.finish(job, 'timed-out', { code: 'TIMED_OUT', message: `the agent did not finish within ${Math.round(config.jobTimeoutMs / 1000)} seconds` });
      } else if (exit.stoppedBy === 'cancel') {
        this.finish(job, 'cancelled', { code: 'CANCELLED', message: 'cancelled while the agent was running' });
      } else if (exit.stoppedBy === 'silence') {
        this.finish(job, 'failed', { code: 'AGENT_SILENT', message: `the agent printed nothing for ${Math.round(config.agentSilenceMs / 1000)} seconds and was stopped` });
      } else if (exit.stoppedBy === 'shutdown') {
        requeue = true;
      } else if (exit.signal) {
        crashed = true;
        this.finish(job, 'failed', { code: 'AGENT_CRASHED', message: `the agent was killed by signal ${exit.signal}` });
      } else if (exit.exitCode !== 0) {
        this.finish(job, 'failed', { code: 'AGENT_FAILED', message: `the agent exited with code ${exit.exitCode}` });
      } else {
        await this.setState(job, 'pushing');
        phases.lap('record');
        try {
          if (cred.kind === 'app' && Date.now() - started > APP_TOKEN_REFRESH_MS) {
            // An installation token lives an hour: a long job pushes with a fresh one.
            const old = cred;
            cred = await this.deps.credentials.forRepository(owner, repo);
            await old.release();
          }
          let onto = checkout.startSha;
          const sha = await workspaces.publish(checkout, {
            owner, repo, branch, message: `feat: ${title}`, author: { name: config.agentName, email: config.agentEmail }, exclude: wroteTask ? ['TASK.md'] : [], token: cred.token,
            // The last moment a cancel wins: once git push has started, the push does.
            beforePush: (base) => {
              if (this.cancelRequested.has(job.id)) throw new WorkerError('CANCELLED', 'cancelled before its changes were pushed', 499);
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
            this.finish(job, 'succeeded');
          } else this.finish(job, 'no-changes', { code: 'NO_CHANGES', message: 'the agent finished without changing any file' });
        } catch (e) {
          if (WorkerError.is(e) && e.code === 'CANCELLED') throw e;
          const conflict = e instanceof PushConflictError;
          this.finish(job, 'failed', { code: conflict ? 'PUSH_CONFLICT' : 'PUSH_FAILED', message: conflict ? e.message : `could not push to ${branch}: ${(e as Error).message}` });
        }
      }
    } catch (e) {
      if (WorkerError.is(e) && e.code === 'CANCELLED') this.finish(job, 'cancelled', { code: 'CANCELLED', message: e.message });
      else if (WorkerError.is(e)) this.finish(job, 'failed', { code: e.code, message: e.message });
      else this.finish(job, 'failed', { code: 'INTERNAL', message: 'the worker failed while running this job; see its log' });
      if (!WorkerError.is(e)) log.error({ jobId: job.id, err: String(e) }, 'job failed with an unexpected error');
    } finally {
      this.cancelRequested.delete(job.id);
      if (job.state !== 'queued' && !isFinalState(job.state) && !requeue) this.finish(job, 'failed', { code: 'INTERNAL', message: 'job ended in an unexpected state' });
      if (requeue) {
        job.state = 'queued';
        job.slotId = null;
        jobLog.note('worker shutting down: job goes back to the queue');
      } else {
        jobLog.note(`job ${job.state}${job.error ? `: ${job.error.message}` : ''}`);
      }
      phases.lap('finish');
      job.outputTail = jobLog.lines();
      await this.deps.store.save(job);
      phases.lap('record');
      await jobLog.close(); // readers following it get the end, and the file is complete
      this.logs.delete(job.id);
      phases.lap('log');
      this.emit('job', job);
      if (!requeue) this.durations.push(Date.now() - started);
      if (this.durations.length > 50) this.durations.shift();
      log.info({ jobId: job.id, slot: slot.id, state: job.state, code: job.error?.code, ms: Date.now() - started }, 'job ended');
      // The job's credential outlives the job only until its PR is followed up (an App token is then revoked).
      const held = cred;
      this.followUp(job, async () => held);
      if (crashed) this.restartSlot(slot);
      else {
        // The job is over (its state saved and announced); the tree is made ready for the next one.
        await workspaces.settle(slot.id, owner, repo).catch((e: unknown) => log.warn({ slot: slot.id, err: String(e) }, 'could not clean the slot\'s checkout; it will be reset at the next job'));
        phases.lap('settle');
        slot.set('idle');
        this.emit('slot', slot);
      }
    }
  }

  /** A slot whose agent crashed rests, loses its warm checkouts and comes back idle. */
  private restartSlot(slot: Slot): void {
    slot.set('restarting');
    this.emit('slot', slot);
    this.deps.log.warn({ slot: slot.id, inMs: this.config.slotRestartMs }, 'slot restarting after an agent crash');
    slot.warm.clear();
    void this.deps.workspaces.discardSlot(slot.id).catch(() => undefined);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      slot.set('idle');
      this.emit('slot', slot);
      this.dispatch();
    }, this.config.slotRestartMs);
  }

  /** The health monitor: logs, enforces timeouts and silence, recycles idle warm checkouts. */
  async monitor(): Promise<void> {
    const { config, log } = this.deps;
    const now = Date.now();
    log.info({ slots: this.slots.map((s) => `${s.id}:${s.state}${s.jobId ? `:${s.jobId}` : ''}`), queued: this.queue.length }, 'pool health');
    for (const slot of this.slots) {
      const job = slot.jobId ? this.jobs.get(slot.jobId) : undefined;
      if (slot.state === 'busy' && slot.agent && job?.startedAt) {
        const jobLog = this.logs.get(job.id);
        if (now - Date.parse(job.startedAt) > config.jobTimeoutMs) void slot.agent.stop('timeout', config.killGraceMs);
        else if (jobLog && now - jobLog.lastOutputAt > config.agentSilenceMs) void slot.agent.stop('silence', config.killGraceMs);
      }
      if (slot.state === 'idle') {
        for (const [key, w] of slot.warm) {
          if (now - w.usedAt > config.slotIdleRecycleMs) {
            slot.warm.delete(key);
            await this.deps.workspaces.discard(slot.id, w.owner, w.repo).catch(() => undefined);
            log.info({ slot: slot.id, repo: key }, 'recycled an idle warm checkout');
          }
        }
      }
    }
  }

  /** SIGTERM: stop accepting, let running jobs finish within the grace period, keep the rest queued. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const all = Promise.allSettled([...this.running]);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) {
      for (const slot of this.slots) if (slot.agent) void slot.agent.stop('shutdown', this.config.killGraceMs);
      await Promise.allSettled([...this.running]);
    }
  }

  async close(): Promise<void> {
    if (this.monitorTimer) clearInterval(this.monitorTimer);
    for (const slot of this.slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
    this.accepting = false;
    for (const slot of this.slots) if (slot.agent) void slot.agent.stop('shutdown', 0);
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.followUps]);
  }
}
