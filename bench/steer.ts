// Watching and steering a job (issue 8), through the real worker over loopback HTTP
// and the extension's own plain modules:
//  - log latency: a line the agent prints -> the extension's LogFollower receives it.
//    The agent is a small node script (written under the git-ignored .cache/, which the
//    sandbox does not hide) printing `LINE <i> <Date.now()>` every 10 ms, run in the
//    default sandbox; one machine, so both Date.now() clocks are the same clock. The old
//    way (GET /jobs/:id every 3 s) is not run: it is computed as half the interval plus
//    the GET round trip measured here.
//  - cancel: WorkerApi.cancel -> no process of the agent's tree left running (the pty
//    child and every descendant, read from /proc just before; polled every 2 ms). A
//    zombie counts as gone: it runs nothing. The sandbox's inner bwrap is orphaned when
//    the outer one exits, so its zombie waits for the host's init to reap it; how long
//    that takes is the host's (cancelReapedMs: until every pid has left /proc).
//  - push -> notify: the stand-in's end of the receive-pack POST (the ref is updated) ->
//    the PrWatcher's "pushed" notification, with the poll interval at its default (20 s)
//    and the WorkerEventStream wired to watcher.applyJob as extension/services.ts does.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitHubStandIn } from '../test/support/github/server.js';
import { pollUntil, tempDir } from '../test/support/helpers.js';
import { repoRoot } from '../test/support/paths.js';
import { startWorker, workerEnv, makeTaskPr, jobRequest, WORKER_TOKEN, type TestWorker } from '../test/support/worker.js';
import { descendants } from '../worker-service/sandbox/processTree.js';
import { createGitHubClient } from '../extension/github/client.js';
import { delegate } from '../extension/delegations/delegate.js';
import { DelegationStore, MemoryMemento } from '../extension/delegations/model.js';
import { PrWatcher } from '../extension/github/watcher.js';
import { WorkerApi } from '../extension/worker/client.js';
import { WorkerEventStream } from '../extension/worker/eventStream.js';
import { LogFollower } from '../extension/worker/logFollower.js';
import { percentile, mean, round } from './stats.js';

const LINES = 200;
const LINE_MS = 10;
const CANCEL_JOBS = Number(process.env.BENCH_CANCEL_JOBS ?? 10);
const PUSH_JOBS = Number(process.env.BENCH_PUSH_JOBS ?? 10);
const OLD_POLL_MS = 3_000; // how Copilot follows a job: GET /jobs/:id every 3 s
const POLL_INTERVAL_MS = 20_000; // package.json: kiroDelegate.pollIntervalSeconds default

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Waits 500 ms first, so the follower (opened at submit) is attached before the first line: no line is a replay.
const LINES_AGENT = `let i = 0;
const tick = () => {
  process.stdout.write('LINE ' + i + ' ' + Date.now() + '\\n');
  if (++i < ${LINES}) setTimeout(tick, ${LINE_MS});
};
setTimeout(tick, 500);
`;

function env(gh: GitHubStandIn, token: string, state: string, extra: Record<string, string> = {}) {
  return workerEnv(gh, token, state, { KIRO_LOG_LEVEL: 'error', KIRO_RATE_LIMIT_PER_MIN: '100000', ...extra });
}

async function measureLogLatency(gh: GitHubStandIn, token: string): Promise<{ latencies: number[]; getMs: number[] }> {
  const dir = join(repoRoot, '.cache', 'bench');
  await mkdir(dir, { recursive: true });
  const script = join(dir, `steer-lines-${process.pid}.mjs`);
  await writeFile(script, LINES_AGENT);
  const state = await tempDir();
  const w = await startWorker(env(gh, token, state, { KIRO_AGENT_COMMAND: JSON.stringify([process.execPath, script, '{prompt}']) }));
  try {
    const pr = await makeTaskPr(gh, 'steer', 'app', 'steer-log', 'Lines');
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });
    const outcome = await api.submit(jobRequest('steer', 'app', 'steer-log', pr.number, 'Lines'));
    if (outcome.kind !== 'accepted') throw new Error(`log job not accepted: ${JSON.stringify(outcome)}`);
    const latencies: number[] = [];
    let partial = '';
    let ended: string | undefined;
    const follower = new LogFollower({
      source: api,
      jobId: outcome.jobId,
      onData: (text) => {
        const at = Date.now();
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const m = /LINE (\d+) (\d+)/.exec(line);
          if (m) latencies.push(at - Number(m[2]));
        }
      },
      onEnd: (job, reason) => (ended = job?.state ?? reason ?? 'unknown'),
    });
    await Promise.race([follower.start(), sleep(30_000)]);
    follower.dispose();
    if (latencies.length !== LINES) console.log(`steer: WARNING the follower saw ${latencies.length} of ${LINES} lines (job ${ended})`);
    // The old way's cost per look: one GET /jobs/:id through the same client.
    const getMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await api.job(outcome.jobId);
      getMs.push(performance.now() - t);
    }
    return { latencies, getMs };
  } finally {
    await w.close();
    await rm(script, { force: true });
    await rm(state, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** Running and not a zombie (an exited process not yet reaped runs nothing). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const s = stat[stat.lastIndexOf(')') + 2];
    return s !== 'Z' && s !== 'X';
  } catch {
    return false;
  }
}

async function measureCancel(gh: GitHubStandIn, w: TestWorker, api: WorkerApi) {
  const exitedMs: number[] = [];
  const reapedMs: number[] = [];
  const answerMs: number[] = [];
  const trees: number[] = [];
  const states: string[] = [];
  for (let i = 0; i < CANCEL_JOBS; i++) {
    const branch = `steer-cancel-${i}`;
    const pr = await makeTaskPr(gh, 'steer', 'app', branch, `Hang ${i}`, ' [scenario: hang]');
    const outcome = await api.submit(jobRequest('steer', 'app', branch, pr.number, `Hang ${i}`));
    if (outcome.kind !== 'accepted') throw new Error(`hang job not accepted: ${JSON.stringify(outcome)}`);
    const id = outcome.jobId;
    // The whole tree is up once the agent inside the sandbox has printed.
    await pollUntil(
      () =>
        w.queue
          .logOf(id)
          ?.lines()
          .some((l) => l.includes('thinking forever')),
      { timeoutMs: 20_000, intervalMs: 5, what: `hang job ${i} to run` },
    );
    const root = w.queue.jobs.get(id)?.agentPid;
    if (!root) throw new Error(`no agentPid for ${id}`);
    const pids = [root, ...descendants(root)];
    trees.push(pids.length);
    const t0 = performance.now();
    const answer = api.cancel(id).then((r) => {
      answerMs.push(performance.now() - t0);
      return r;
    });
    let exited = Number.NaN;
    const deadline = t0 + 10_000;
    for (;;) {
      const now = performance.now();
      if (Number.isNaN(exited) && !pids.some(running)) exited = now - t0;
      if (
        !pids.some((p) => {
          try {
            readFileSync(`/proc/${p}/stat`);
            return true;
          } catch {
            return false;
          }
        })
      ) {
        reapedMs.push(now - t0);
        break;
      }
      if (now > deadline) {
        reapedMs.push(Number.NaN);
        break;
      }
      await sleep(2);
    }
    exitedMs.push(exited);
    const r = await answer;
    states.push(r.kind === 'ok' ? r.job.state : r.message);
    await pollUntil(async () => ((await api.job(id))?.state === 'cancelled' ? true : undefined), { what: `job ${id} cancelled` });
  }
  return { exitedMs, reapedMs, answerMs, trees, states };
}

async function measurePushToNotify(gh: GitHubStandIn, w: TestWorker, api: WorkerApi, aliceToken: string) {
  const store = new DelegationStore(new MemoryMemento());
  const github = createGitHubClient({ token: aliceToken, baseUrl: gh.apiUrl });
  const notified = new Map<string, number>();
  const watcher = new PrWatcher({
    store,
    github: async () => github,
    worker: () => api,
    isFocused: () => true,
    intervalMs: POLL_INTERVAL_MS,
    notify: (e) => {
      if (e.type === 'pushed') notified.set(e.delegation.id, Date.now());
    },
  });
  // As extension/services.ts wires it.
  const stream = new WorkerEventStream({
    source: () => api,
    jobIds: () => store.active().flatMap((d) => (d.jobId ? [d.jobId] : [])),
    onEvent: (e) => {
      if (e.type === 'job') void watcher.applyJob(e.job);
    },
  });
  const sub = store.onDidChange(() => stream.refresh());
  const workerSaid = new Map<string, number>();
  const onJob = (job: { id: string; state: string }) => {
    if (job.state === 'succeeded') workerSaid.set(job.id, Date.now());
  };
  w.queue.on('job', onJob);
  const total: number[] = [];
  const toEvent: number[] = [];
  try {
    for (let i = 0; i < PUSH_JOBS; i++) {
      const since = Date.now();
      const done = await delegate(
        {
          owner: 'steer',
          repo: 'app',
          baseBranch: 'main',
          title: `Push ${i}`,
          objective: 'Change something. [scenario: change]',
          prTitle: `Push ${i}`,
          constraints: [],
          acceptanceCriteria: ['ok'],
        },
        undefined,
        { github, worker: () => api, store, branchPrefix: 'kiro/', draft: false },
      );
      // As the delegate command does: the watcher starts now and again once the job is sent.
      void done.sending.finally(() => watcher.start());
      watcher.start();
      const id = done.result.confirmationCode;
      const at = await pollUntil(() => notified.get(id), {
        timeoutMs: 30_000,
        intervalMs: 5,
        what: `the pushed notification for ${id} (state ${store.get(id)?.state})`,
      });
      const push = gh.requests.find(
        (r) => r.kind === 'git' && r.method === 'POST' && r.path === '/steer/app.git/git-receive-pack' && r.status === 200 && r.at >= since,
      );
      const jobId = store.get(id)?.jobId ?? '';
      if (!push) throw new Error(`no push seen for ${id}`);
      total.push(at - push.at);
      toEvent.push((workerSaid.get(jobId) ?? Number.NaN) - push.at);
    }
  } finally {
    w.queue.off('job', onJob);
    sub.dispose();
    stream.dispose();
    watcher.dispose();
  }
  return { total, toEvent };
}

export async function benchSteer(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const alice = gh.addUser('steer');
  const bot = gh.addUser('kiro-bot');
  await gh.createRepo('steer', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  gh.grant('steer', 'app', 'kiro-bot', 'WRITE');
  const state = await tempDir();
  let w: TestWorker | undefined;
  try {
    const { latencies, getMs } = await measureLogLatency(gh, bot.token);
    const logLatencyP50Ms = percentile(latencies, 50);
    const logLatencyP95Ms = percentile(latencies, 95);
    // Not measured: a line waits for the next poll, uniform over the interval, then one GET.
    const logLatencyPollingP50Ms = OLD_POLL_MS / 2 + percentile(getMs, 50);
    console.log(
      `steer: log line -> LogFollower p50 ${round(logLatencyP50Ms)} ms, p95 ${round(logLatencyP95Ms)} ms, max ${round(Math.max(...latencies))} ms over ${latencies.length} lines (sandboxed agent, one every ${LINE_MS} ms); polling GET /jobs/:id every ${OLD_POLL_MS / 1000} s would be ~${round(logLatencyPollingP50Ms)} ms p50 (computed: ${OLD_POLL_MS / 2} ms + GET p50 ${round(percentile(getMs, 50))} ms; and its 40-line tail would drop most of these lines)`,
    );

    w = await startWorker(env(gh, bot.token, state, { KIRO_WORKER_SLOTS: '1' }), { agentEnv: { FAKE_KIRO_STEP_MS: '20' } });
    const api = new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN });

    const c = await measureCancel(gh, w, api);
    const cancelMs = percentile(c.exitedMs, 50);
    const cancelReapedMs = percentile(c.reapedMs, 50);
    console.log(
      `steer: cancel -> agent's tree gone (${round(mean(c.trees))} processes: pty child + descendants, none left running) p50 ${round(cancelMs)} ms, p95 ${round(percentile(c.exitedMs, 95))} ms over ${c.exitedMs.length} hang jobs; cancel answered p50 ${round(percentile(c.answerMs, 50))} ms (job ${[...new Set(c.states)].join(', ')} at the answer); every pid out of /proc (orphaned zombies reaped by this host's init) p50 ${round(cancelReapedMs)} ms`,
    );

    const p = await measurePushToNotify(gh, w, api, alice.token);
    const pushToNotifyP50Ms = percentile(p.total, 50);
    console.log(
      `steer: push (receive-pack answered) -> "pushed" notification p50 ${round(pushToNotifyP50Ms)} ms, p95 ${round(percentile(p.total, 95))} ms over ${p.total.length} jobs (of which push -> worker's succeeded event p50 ${round(percentile(p.toEvent, 50))} ms); poll interval ${POLL_INTERVAL_MS / 1000} s, so polling alone would take up to ${POLL_INTERVAL_MS / 1000} s`,
    );

    return {
      logLatencyP50Ms: round(logLatencyP50Ms),
      logLatencyP95Ms: round(logLatencyP95Ms),
      logLatencyPollingP50Ms: round(logLatencyPollingP50Ms),
      cancelMs: round(cancelMs),
      cancelReapedMs: round(cancelReapedMs),
      pushToNotifyP50Ms: round(pushToNotifyP50Ms),
    };
  } finally {
    await w?.close();
    await gh.close();
    await rm(state, { recursive: true, force: true, maxRetries: 5 });
  }
}
