// Follows a job's terminal output from the worker: replays it from the start,
// then live, and when the connection drops (network, worker restart) reconnects
// and resumes at the byte it had reached (GET /jobs/:id/log?offset=N), so nothing
// is lost or shown twice. Plain TypeScript: the VS Code terminal is thin glue.
import { formatDuration } from '../../shared/duration.js';
import { isFinalState } from '../../shared/jobStates.js';
import type { JobStatus } from '../../shared/protocol.js';
import { abortableSleep } from './backoff.js';
import { describeUsage } from '../delegations/describe.js';

export interface LogSource {
  /** The log from byte `offset`; the body ends when the job does (or the connection drops). */
  openLog(jobId: string, offset: number, signal: AbortSignal): Promise<Response>;
  job(jobId: string): Promise<JobStatus | undefined>;
}

export interface LogFollowerOptions {
  source: LogSource;
  jobId: string;
  onData(text: string): void;
  /** The job ended (its final status), or cannot be followed (undefined, with the reason). */
  onEnd(job: JobStatus | undefined, reason?: string): void;
  /** The connection dropped and a reconnect is pending (for a status line). */
  onReconnecting?(attempt: number, delayMs: number): void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  maxDelayMs?: number;
}

export class LogFollower {
  /** Bytes received so far: where a reconnect resumes. */
  offset = 0;
  private readonly abort = new AbortController();
  // One decoder for the whole stream: a character split across a reconnect still decodes once.
  private readonly decoder = new TextDecoder('utf-8');
  private done: Promise<void> | undefined;

  constructor(private readonly o: LogFollowerOptions) {}

  start(): Promise<void> {
    this.done ??= this.run();
    return this.done;
  }

  dispose(): void {
    this.abort.abort();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const sleep = this.o.sleep ?? abortableSleep;
    let attempt = 0;
    while (!this.stopped) {
      try {
        const res = await this.o.source.openLog(this.o.jobId, this.offset, this.abort.signal);
        if (res.status === 404) return this.o.onEnd(undefined, 'the worker does not know this job (its state was removed)');
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          attempt = 0; // data flows again
          this.offset += value.byteLength;
          const text = this.decoder.decode(value, { stream: true });
          if (text) this.o.onData(text);
        }
        // A clean end is the job's end, unless the worker went away mid-job (then the job is not final).
        const job = await this.o.source.job(this.o.jobId);
        if (job && isFinalState(job.state)) return this.o.onEnd(job);
      } catch {
        if (this.stopped) return;
      }
      if (this.stopped) return;
      attempt++;
      const delay = Math.min(this.o.maxDelayMs ?? 5_000, 250 * 2 ** Math.min(attempt - 1, 5));
      this.o.onReconnecting?.(attempt, delay);
      await sleep(delay, this.abort.signal);
    }
  }
}

/** The terminal's last line: how the job ended. */
export function describeJobEnd(job: JobStatus): string {
  const parts = [`job ${job.state}`];
  if (job.exitCode !== null) parts.push(`exit code ${job.exitCode}`);
  if (job.signal) parts.push(`signal ${job.signal}`);
  if (job.startedAt && job.finishedAt) parts.push(formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt)));
  if (job.commitSha) parts.push(`pushed ${job.commitSha.slice(0, 12)}`);
  if (job.error && job.state !== 'succeeded') parts.push(job.error.message);
  return parts.join(' · ');
}

/** The terminal's very last line for an ended job: `usage: 12,345 in / 2,345 out tokens · $0.04`, or that the agent reports none. */
export function describeJobUsage(job: Pick<JobStatus, 'state' | 'usage'>): string {
  return describeUsage(job.usage, job.state) ?? 'usage not reported by this agent';
}
