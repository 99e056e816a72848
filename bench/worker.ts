// Worker benchmarks on a generated repository of about 20,000 files:
//  - dispatch latency (202 accepted -> agent process running), warm repository, with the
//    agents' sandbox (the default) and without it (the baseline), same run
//  - checkout by cached mirror + warm worktree versus a fresh git clone, same run
//  - orchestration overhead per job (wall time minus the agent's own time),
//    200 no-op jobs through 2 slots
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from '../worker-service/git/run.js';
import { Workspaces } from '../worker-service/git/workspace.js';
import { GitHubStandIn } from '../test/support/github/server.js';
import { gitWithToken, tempDir } from '../test/support/helpers.js';
import { startWorker, workerEnv, WorkerClient, jobRequest } from '../test/support/worker.js';
import { mean, percentile, round } from './stats.js';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const OVERHEAD_JOBS = Number(process.env.BENCH_JOBS ?? 200);

async function generateRepo(gh: GitHubStandIn, owner: string, name: string): Promise<void> {
  const repo = await gh.createRepo(owner, name);
  const dir = await tempDir();
  await runGit(['init', '--quiet', '--initial-branch=main', dir]);
  for (let d = 0; d < FILES / 100; d++) {
    const sub = join(dir, 'src', `pkg${d}`);
    await mkdir(sub, { recursive: true });
    await Promise.all(
      Array.from({ length: 100 }, (_, f) => writeFile(join(sub, `file${f}.ts`), `export const v${d}_${f} = ${d * 100 + f};\n`)),
    );
  }
  await runGit(['add', '-A'], { cwd: dir });
  await runGit(['-c', 'user.name=bench', '-c', 'user.email=b@e', 'commit', '--quiet', '-m', 'generated'], { cwd: dir });
  await runGit(['-c', 'gc.auto=0', 'push', '--quiet', '--force', repo.bare.dir, 'main:main'], { cwd: dir });
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
}

async function addBranches(gh: GitHubStandIn, owner: string, name: string, prefix: string, n: number): Promise<string[]> {
  const repo = gh.model.repo(owner, name);
  const main = await repo?.bare.resolve('refs/heads/main');
  if (!repo || !main) throw new Error('no repo');
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const input = names.map((b) => `create refs/heads/${b} ${main}\n`).join('');
  await repo.bare.git(['update-ref', '--stdin'], input);
  // Each branch the head of an open PR: the worker checks that before it queues a job.
  for (const b of names)
    prOf.set(b, gh.model.addPull(repo, { title: b, body: '', head: b, base: 'main', draft: false, author: owner }).number);
  return names;
}

/** The PR number of each branch addBranches made. */
const prOf = new Map<string, number>();
const prFor = (branch: string) => prOf.get(branch) ?? 0;

/** A worker on the big repository, both slots warm, and the dispatch latency of 30 jobs one at a time. */
async function measureDispatch(gh: GitHubStandIn, token: string, extra: Record<string, string>, tag: string) {
  const worker = await startWorker(
    workerEnv(gh, token, await tempDir(), {
      KIRO_LOG_LEVEL: 'error',
      KIRO_WORKER_QUEUE_LIMIT: '1000',
      KIRO_RATE_LIMIT_PER_MIN: '100000',
      ...extra,
    }),
    {
      commenter: async () => undefined,
      agentEnv: { FAKE_KIRO_SCENARIO: 'no-change', FAKE_KIRO_STEP_MS: '0' },
    },
  );
  const client = new WorkerClient(worker.url);
  const events = {
    agentStart: new Map<string, number>(),
    agentExit: new Map<string, number>(),
    runStart: new Map<string, number>(),
    runEnd: new Map<string, number>(),
  };
  worker.queue.on('agent-started', (job, at) => events.agentStart.set(job.id, at));
  worker.queue.on('agent-exited', (job, at) => events.agentExit.set(job.id, at));
  worker.queue.on('job', (job) => {
    if (job.state === 'preparing') events.runStart.set(job.id, performance.timeOrigin + performance.now());
    if (job.state === 'no-changes' || job.state === 'failed') events.runEnd.set(job.id, performance.timeOrigin + performance.now());
  });
  // Warm both slots on the repository first.
  const warm = await addBranches(gh, 'bench', 'big', `warm-${tag}`, 2);
  const warmJobs = await Promise.all(warm.map((b, i) => client.submit(jobRequest('bench', 'big', b, prFor(b), 'warm', `WARM${tag}${i}`))));
  await Promise.all(warmJobs.map((j) => client.waitFor(j.jobId, ['no-changes', 'failed'], 120_000)));
  const dispatch: number[] = [];
  for (const [i, b] of (await addBranches(gh, 'bench', 'big', `dispatch-${tag}`, 30)).entries()) {
    const acc = await client.submit(jobRequest('bench', 'big', b, prFor(b), 'dispatch', `D${tag}${i}`));
    const accepted = Date.now();
    const done = await client.waitFor(acc.jobId, ['no-changes', 'failed']);
    if (done.state === 'failed') throw new Error(`dispatch job failed: ${done.error?.message}`);
    dispatch.push((events.agentStart.get(acc.jobId) ?? Number.NaN) - accepted);
  }
  return { worker, client, dispatch, events };
}

export async function benchWorker(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const bot = gh.addUser('kiro-bot');
  gh.addUser('bench');
  try {
    process.stdout.write(`worker: generating a repository of ${FILES} files… `);
    await generateRepo(gh, 'bench', 'big');
    gh.grant('bench', 'big', 'kiro-bot', 'WRITE');
    process.stdout.write('done\n');

    // Checkout: fresh clone vs cached mirror + warm worktree, alternating, same run.
    const state = await tempDir();
    const ws = new Workspaces(state, gh.gitBaseUrl);
    const branches = await addBranches(gh, 'bench', 'big', 'co', 12);
    await ws.prepare(0, 'bench', 'big', branches[0] ?? '', bot.token); // warm up the mirror and the slot's worktree
    const cloneMs: number[] = [];
    const cachedMs: number[] = [];
    for (let i = 1; i < branches.length; i++) {
      const b = branches[i] ?? '';
      let t = performance.now();
      const dir = await tempDir();
      await gitWithToken(
        ['clone', '--quiet', '--single-branch', '--branch', b, `${gh.gitBaseUrl}/bench/big.git`, join(dir, 'c')],
        bot.token,
      );
      cloneMs.push(performance.now() - t);
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
      t = performance.now();
      await ws.prepare(0, 'bench', 'big', b, bot.token);
      cachedMs.push(performance.now() - t);
    }
    const checkoutSpeedup = percentile(cloneMs, 50) / percentile(cachedMs, 50);
    console.log(
      `worker: checkout p50 clone ${round(percentile(cloneMs, 50))} ms, cached ${round(percentile(cachedMs, 50))} ms -> ${round(checkoutSpeedup)}x`,
    );

    // Dispatch latency through the real service: without the sandbox first (the baseline), then with it (the default).
    const noSandbox = await measureDispatch(gh, bot.token, { KIRO_SANDBOX: 'off' }, 'nosb');
    await noSandbox.worker.close();
    const { worker: w, client: c, dispatch, events } = await measureDispatch(gh, bot.token, {}, 'sb');
    const dispatchP50Ms = percentile(dispatch, 50);
    const dispatchP95Ms = percentile(dispatch, 95);
    const dispatchNoSandboxP50Ms = percentile(noSandbox.dispatch, 50);
    console.log(
      `worker: dispatch (202 -> agent running) p50 ${round(dispatchP50Ms)} ms, p95 ${round(dispatchP95Ms)} ms over ${dispatch.length} jobs with the sandbox; ${round(dispatchNoSandboxP50Ms)} ms without`,
    );
    const { agentStart, agentExit, runStart, runEnd } = events;

    const oBranches = await addBranches(gh, 'bench', 'big', 'overhead', OVERHEAD_JOBS);
    const wall0 = Date.now();
    const accepted = await Promise.all(oBranches.map((b, i) => c.submit(jobRequest('bench', 'big', b, prFor(b), 'noop', `O${i}`))));
    await Promise.all(accepted.map((a) => c.waitFor(a.jobId, ['no-changes', 'failed'], 600_000)));
    const wallMs = Date.now() - wall0;
    const perJob = accepted.map(
      (a) =>
        (runEnd.get(a.jobId) ?? NaN) -
        (runStart.get(a.jobId) ?? NaN) -
        ((agentExit.get(a.jobId) ?? NaN) - (agentStart.get(a.jobId) ?? NaN)),
    );
    const agentMs = accepted.map((a) => (agentExit.get(a.jobId) ?? NaN) - (agentStart.get(a.jobId) ?? NaN));
    // The service's own time per job, phase by phase (everything but the agent), settling the slot's checkout included.
    const phases = accepted.map((a) => w.queue.phaseTimes.get(a.jobId) ?? {});
    const names = [...new Set(phases.flatMap((p) => Object.keys(p)))].filter((n) => n !== 'agent');
    const breakdown = Object.fromEntries(names.map((n) => [n, mean(phases.map((p) => p[n] ?? 0))])) as Record<string, number>;
    const servicePerJob = phases.map((p) => names.reduce((sum, n) => sum + (p[n] ?? 0), 0));
    const overheadPerJobMs = mean(servicePerJob);
    console.log(
      `worker: ${OVERHEAD_JOBS} no-op jobs through 2 slots in ${wallMs} ms; agent ${round(mean(agentMs))} ms/job; overhead ${round(overheadPerJobMs)} ms/job (p95 ${round(percentile(servicePerJob, 95))}), of which until the job's final event ${round(mean(perJob))} ms`,
    );
    console.log(
      `worker: overhead by phase (mean ms/job): ${Object.entries(breakdown)
        .sort((a, b) => b[1] - a[1])
        .map(([n, ms]) => `${n} ${round(ms)}`)
        .join(', ')}`,
    );
    const failed = [...w.queue.jobs.values()].filter((j) => j.state === 'failed');
    if (failed.length) console.log(`worker: WARNING ${failed.length} jobs failed: ${failed[0]?.error?.message}`);
    await w.close();
    return {
      ...Object.fromEntries(Object.entries(breakdown).map(([n, ms]) => [`overheadPhase_${n}_Ms`, round(ms)])),
      dispatchP50Ms: round(dispatchP50Ms),
      dispatchP95Ms: round(dispatchP95Ms),
      dispatchNoSandboxP50Ms: round(dispatchNoSandboxP50Ms),
      checkoutSpeedup: round(checkoutSpeedup, 2),
      overheadPerJobMs: round(overheadPerJobMs),
    };
  } finally {
    await gh.close();
  }
}
