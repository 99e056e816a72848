// Fleet benchmarks, with a private redis-server and the GitHub stand-in, same run:
//  - redisDispatchP50Ms: 202 accepted -> agent running through BullMQ on Redis, next to
//    the embedded queue on the same repository (redisDispatchBaselineP50Ms)
//  - hostRecoveryS: kill -9 of a host running a job -> that job's agent running on
//    another host (default lock, stalled-check and branch-lock settings)
//  - fleetThroughputRatio: no-op jobs per second with three hosts / with one
//    (each host a real process with 2 slots), and the CPU the run used, to show
//    where the time goes on a 2-core machine
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import type { FleetJobService } from '../worker-service/queue/fleet/fleetService.js';
import { startRedis, type RedisServer } from '../scripts/support/redis.js';
import { stopChild } from '../scripts/support/lifecycle.js';
import { GitHubStandIn } from '../test/support/github/server.js';
import { pollUntil, tempDir } from '../test/support/helpers.js';
import {
  jobRequest,
  makeTaskPr,
  startWorker,
  startWorkerProcess,
  stopProcess,
  workerEnv,
  WorkerClient,
  type ChildWorker,
} from '../test/support/worker.js';
import { mean, percentile, round } from './stats.js';

const DISPATCH_JOBS = 30;
const THROUGHPUT_JOBS = Number(process.env.BENCH_FLEET_JOBS ?? 36);
const RECOVERY_RUNS = 3;

let seq = 0;
async function branches(gh: GitHubStandIn, n: number, extra = ''): Promise<Array<{ branch: string; pr: number }>> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const branch = `bench-fleet-${++seq}`;
      return { branch, pr: (await makeTaskPr(gh, 'bench', 'app', branch, 'Fleet bench', extra)).number };
    }),
  );
}

/** Accepted -> agent running, one job at a time, in-process (the queue is the only difference). */
async function dispatch(gh: GitHubStandIn, token: string, redisUrl: string | null): Promise<number[]> {
  const extra: Record<string, string> = {
    KIRO_LOG_LEVEL: 'error',
    KIRO_RATE_LIMIT_PER_MIN: '100000',
    ...(redisUrl ? { KIRO_REDIS_URL: redisUrl, KIRO_WORKER_ID: 'bench-dispatch' } : {}),
  };
  const w = await startWorker(workerEnv(gh, token, await tempDir(), extra), {
    commenter: async () => undefined,
    agentEnv: { FAKE_KIRO_SCENARIO: 'no-change', FAKE_KIRO_STEP_MS: '0' },
  });
  const started = new Map<string, number>();
  const host = redisUrl ? (w.app.jobs as FleetJobService).host : w.queue.host;
  host.on('agent-started', (job, at) => started.set(job.id, at));
  const client = new WorkerClient(w.url);
  const out: number[] = [];
  try {
    for (const [i, b] of (await branches(gh, DISPATCH_JOBS + 2)).entries()) {
      const acc = await client.submit(jobRequest('bench', 'app', b.branch, b.pr, 'Fleet bench', `FD${seq}${i}`));
      const accepted = Date.now();
      await client.waitFor(acc.jobId, ['no-changes', 'failed'], 30_000);
      // The first two warm the slots' checkouts, as a running service's would be.
      if (i >= 2) out.push((started.get(acc.jobId) ?? Number.NaN) - accepted);
    }
  } finally {
    await w.close();
  }
  return out;
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the command.
    return [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i] ?? 0), 0) / 100;
  } catch {
    return 0;
  }
}

interface Fleet {
  hosts: Array<{ id: string; w: ChildWorker; c: WorkerClient; state: string }>;
  children: ChildProcess[];
}

async function startFleet(
  gh: GitHubStandIn,
  token: string,
  redis: RedisServer,
  n: number,
  extra: Record<string, string> = {},
): Promise<Fleet> {
  const fleet: Fleet = { hosts: [], children: [] };
  for (let i = 0; i < n; i++) {
    const id = `bench-${String.fromCharCode(97 + i)}`;
    const state = await tempDir();
    const w = await startWorkerProcess(
      workerEnv(gh, token, state, {
        KIRO_REDIS_URL: redis.url,
        KIRO_WORKER_ID: id,
        KIRO_LOG_LEVEL: 'error',
        KIRO_RATE_LIMIT_PER_MIN: '100000',
        KIRO_WORKER_QUEUE_LIMIT: '1000',
        FAKE_KIRO_STEP_MS: '0',
        ...extra,
      }),
      { keepChars: 20_000 },
    );
    fleet.hosts.push({ id, w, c: new WorkerClient(w.url), state });
    fleet.children.push(w.child);
  }
  const first = fleet.hosts[0];
  if (first)
    await pollUntil(async () => ((await (await first.c.request('GET', '/health')).json()) as { hosts?: unknown[] }).hosts?.length === n, {
      timeoutMs: 20_000,
      what: `${n} hosts`,
    });
  return fleet;
}

async function stopFleet(fleet: Fleet): Promise<void> {
  await Promise.all(fleet.children.map((c) => stopProcess(c, 'SIGTERM').catch(() => undefined)));
}

/** No-op jobs per second through `n` hosts, all submitted at once; and the CPU the hosts and the stand-in used. */
async function throughput(gh: GitHubStandIn, token: string, redis: RedisServer, n: number): Promise<{ jobsPerS: number; cpuBusy: number }> {
  const fleet = await startFleet(gh, token, redis, n, { FAKE_KIRO_SCENARIO: 'no-change' });
  try {
    // Warm every slot's checkout first, as a running fleet's would be.
    const warm = await branches(gh, n * 4);
    const warmIds = await Promise.all(
      warm.map((b, i) => fleet.hosts[i % n]!.c.submit(jobRequest('bench', 'app', b.branch, b.pr, 'warm', `FW${seq}${i}`))),
    );
    const first = fleet.hosts[0]?.c;
    if (!first) throw new Error('no host');
    await Promise.all(warmIds.map((a) => first.waitFor(a?.jobId ?? '', ['no-changes', 'failed'], 60_000)));
    const jobs = await branches(gh, THROUGHPUT_JOBS);
    const pids = [...fleet.children.map((c) => c.pid), process.pid];
    const cpu0 = pids.reduce<number>((s, p) => s + cpuSeconds(p), 0);
    const t0 = performance.now();
    const accepted = await Promise.all(
      jobs.map((b, i) => fleet.hosts[i % n]!.c.submit(jobRequest('bench', 'app', b.branch, b.pr, 'throughput', `FT${seq}${i}`))),
    );
    await pollUntil(
      async () => {
        const all = await Promise.all(accepted.map((a) => first.job(a?.jobId ?? '')));
        return all.every((j) => j.state === 'no-changes' || j.state === 'failed') || undefined;
      },
      { timeoutMs: 300_000, intervalMs: 50, what: 'throughput jobs' },
    );
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = pids.reduce<number>((s, p) => s + cpuSeconds(p), 0) - cpu0;
    return { jobsPerS: THROUGHPUT_JOBS / wallS, cpuBusy: cpuS / (wallS * cpus().length) };
  } finally {
    await stopFleet(fleet);
  }
}

/** kill -9 of the host running a job -> the job's agent running on another host, in seconds. */
async function recovery(gh: GitHubStandIn, token: string, redis: RedisServer): Promise<number[]> {
  const out: number[] = [];
  for (let run = 0; run < RECOVERY_RUNS; run++) {
    // Default lock, stalled-check and branch-lock settings: what an operator gets.
    const fleet = await startFleet(gh, token, redis, 3, { FAKE_KIRO_STEP_MS: '2000' });
    try {
      const [b] = await branches(gh, 1);
      const first = fleet.hosts[0]?.c;
      if (!b || !first) throw new Error('no branch');
      const acc = await first.submit(jobRequest('bench', 'app', b.branch, b.pr, 'recovery', `FR${seq}`));
      const running = await first.waitFor(acc.jobId, ['running'], 30_000);
      const victim = fleet.hosts.find((h) => h.id === running.host);
      if (!victim) throw new Error(`no host ${running.host}`);
      const observer = fleet.hosts.find((h) => h !== victim)?.c ?? first;
      const t0 = performance.now();
      await stopProcess(victim.w.child, 'SIGKILL');
      await pollUntil(
        async () => {
          const j = await observer.job(acc.jobId);
          return (j.state === 'running' && j.host !== victim.id) || undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'the job running on another host' },
      );
      out.push((performance.now() - t0) / 1000);
      await observer.waitFor(acc.jobId, ['succeeded', 'failed'], 60_000);
    } finally {
      await stopFleet(fleet);
    }
  }
  return out;
}

export async function benchFleet(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const bot = gh.addUser('kiro-bot');
  gh.addUser('bench');
  await gh.createRepo('bench', 'app');
  gh.grant('bench', 'app', 'kiro-bot', 'WRITE');
  const redis = await startRedis(await tempDir());
  try {
    const embedded = await dispatch(gh, bot.token, null);
    const viaRedis = await dispatch(gh, bot.token, redis.url);
    const redisDispatchP50Ms = percentile(viaRedis, 50);
    const redisDispatchBaselineP50Ms = percentile(embedded, 50);
    console.log(
      `fleet: dispatch p50 through Redis ${round(redisDispatchP50Ms)} ms, embedded queue ${round(redisDispatchBaselineP50Ms)} ms (same repository, same run): +${round(redisDispatchP50Ms - redisDispatchBaselineP50Ms)} ms`,
    );

    const one = await throughput(gh, bot.token, redis, 1);
    const three = await throughput(gh, bot.token, redis, 3);
    const fleetThroughputRatio = three.jobsPerS / one.jobsPerS;
    console.log(
      `fleet: no-op jobs/s one host ${round(one.jobsPerS, 2)} (CPU ${round(one.cpuBusy * 100)}% of ${cpus().length} cores), three hosts ${round(three.jobsPerS, 2)} (CPU ${round(three.cpuBusy * 100)}%) -> ${round(fleetThroughputRatio, 2)}x`,
    );

    const rec = await recovery(gh, bot.token, redis);
    console.log(`fleet: kill -9 -> job running on another host: ${rec.map((s) => round(s, 1)).join(', ')} s`);
    return {
      redisDispatchP50Ms: round(redisDispatchP50Ms),
      redisDispatchBaselineP50Ms: round(redisDispatchBaselineP50Ms),
      redisDispatchAddedMs: round(redisDispatchP50Ms - redisDispatchBaselineP50Ms),
      fleetJobsPerS1Host: round(one.jobsPerS, 2),
      fleetJobsPerS3Hosts: round(three.jobsPerS, 2),
      fleetThroughputRatio: round(fleetThroughputRatio, 2),
      fleetCpuBusy1HostPct: round(one.cpuBusy * 100),
      fleetCpuBusy3HostsPct: round(three.cpuBusy * 100),
      hostRecoveryS: round(Math.max(...rec), 1),
      hostRecoveryMeanS: round(mean(rec), 1),
    };
  } finally {
    await stopChild(redis.child, 3000);
    await gh.close();
  }
}
