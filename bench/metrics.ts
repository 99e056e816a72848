// GET /metrics (issue 21): one scrape over loopback HTTP with 1,000 finished jobs
// recorded, p50 of 50 scrapes (metricsScrapeMs; p95 metricsScrapeP95Ms; the first scrape,
// which also starts Node's default metrics, metricsScrapeFirstMs; the response's size
// metricsScrapeBytes). The jobs' events go through the worker's own event points
// (the job service's `job` events, the slot host's agent and run events) with every
// final state and a spread of error codes, so the figures are those of a busy worker
// without waiting for 1,000 real runs; 1,000 HTTP requests over four routes are real.
import { GitHubStandIn } from '../test/support/github/server.js';
import { tempDir } from '../test/support/helpers.js';
import { startWorker, workerEnv, WorkerClient } from '../test/support/worker.js';
import type { JobState, JobStatus } from '../shared/protocol.js';
import type { Job } from '../worker-service/jobs/job.js';
import { percentile, round } from './stats.js';

const JOBS = 1000;
const SCRAPES = 50;
const STATES: JobState[] = ['succeeded', 'no-changes', 'failed', 'timed-out', 'cancelled'];
const CODES = ['AGENT_FAILED', 'AGENT_CRASHED', 'AGENT_SILENT', 'PUSH_FAILED', 'BUDGET_EXCEEDED'];

export async function benchMetrics(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const bot = gh.addUser('kiro-bot');
  const w = await startWorker(workerEnv(gh, bot.token, await tempDir(), { KIRO_LOG_LEVEL: 'error' }));
  try {
    const { jobs } = w.app;
    const now = Date.now();
    for (let i = 0; i < JOBS; i++) {
      const state = STATES[i % STATES.length] ?? 'succeeded';
      const code =
        state === 'failed'
          ? CODES[Math.floor(i / STATES.length) % CODES.length]
          : state === 'timed-out'
            ? 'TIMED_OUT'
            : state === 'cancelled'
              ? 'CANCELLED'
              : undefined;
      const error = code ? { code, message: 'bench' } : null;
      const status: JobStatus = {
        jobId: `bench-${i}`,
        state,
        owner: 'o',
        repo: 'r',
        branch: `b${i}`,
        prNumber: i,
        title: 't',
        attempts: 1,
        position: 0,
        slotId: i % 2,
        createdAt: new Date(now).toISOString(),
        startedAt: null,
        finishedAt: null,
        exitCode: 0,
        signal: null,
        commitSha: null,
        error,
        outputTail: [],
        usage: { inputTokens: 400 + i, outputTokens: 80, costUsd: 0.01 },
      };
      const job = { id: status.jobId } as Job; // the metrics read only the id of the host's Job
      jobs.host.emit('agent-started', job, now);
      jobs.host.emit('agent-exited', job, now + 1000 + i * 100);
      jobs.host.emit('run-ended', job, {
        record: 40 + (i % 50),
        credentials: 1,
        fetch: 90,
        checkout: 60,
        spawn: 20,
        agent: 1000,
        publish: 80,
        settle: 30,
      });
      jobs.emit('job', status);
    }
    const client = new WorkerClient(w.url);
    const paths = ['/health', '/jobs/bench-1', '/jobs?mine=1', '/nowhere'];
    for (let i = 0; i < 1000; i++) await (await client.request('GET', paths[i % paths.length] ?? '/health')).arrayBuffer();
    const times: number[] = [];
    let bytes = 0;
    let firstMs = 0;
    for (let i = 0; i <= SCRAPES; i++) {
      const t0 = performance.now();
      const res = await client.request('GET', '/metrics');
      const text = await res.text();
      if (res.status !== 200 || !text.includes('kiro_jobs_finished_total{state="failed",code="AGENT_CRASHED"}'))
        throw new Error(`GET /metrics: ${res.status}`);
      // The first scrape also starts Node's default metrics: reported on its own.
      if (i > 0) times.push(performance.now() - t0);
      else firstMs = performance.now() - t0;
      bytes = text.length;
    }
    const out = {
      metricsScrapeMs: round(percentile(times, 50)),
      metricsScrapeP95Ms: round(percentile(times, 95)),
      metricsScrapeFirstMs: round(firstMs),
      metricsScrapeBytes: bytes,
    };
    console.log(
      `metrics: one scrape with ${JOBS} finished jobs recorded: p50 ${out.metricsScrapeMs} ms, p95 ${out.metricsScrapeP95Ms} ms (the first: ${out.metricsScrapeFirstMs} ms), ${bytes} bytes`,
    );
    return out;
  } finally {
    await w.close();
    await gh.close();
  }
}
