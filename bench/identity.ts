// Identity benchmarks:
//  - authAddedP50Ms: the time POST /generate-code spends in the identity and permission
//    checks (session verified, write permission, the PR's state/head/base, quotas), caches
//    warm, measured inside the route around the guard, 200 submits in github mode.
//  - githubRequestsPerJob: the GitHub API requests the worker makes for one job, from its
//    accept to its final PR comment, in github mode with a GitHub App, counted at the
//    stand-in, for a job on a repository the worker has already seen (and the first one).
import { GitHubStandIn } from '../test/support/github/server.js';
import { makeAppKey } from '../test/support/github/apps.js';
import { pollUntil, tempDir } from '../test/support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, WORKER_TOKEN } from '../test/support/worker.js';
import { percentile, round } from './stats.js';

const SUBMITS = Number(process.env.BENCH_AUTH_SUBMITS ?? 200);

async function signIn(url: string, token: string): Promise<WorkerClient> {
  const res = await new WorkerClient(url, null).request('POST', '/auth/github', { token });
  return new WorkerClient(url, ((await res.json()) as { token: string }).token);
}

async function authAdded(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const alice = gh.addUser('alice');
  const bot = gh.addUser('kiro-bot');
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  const w = await startWorker(
    workerEnv(gh, bot.token, await tempDir(), {
      KIRO_AUTH: 'github',
      KIRO_SESSION_SECRET: 'a-bench-secret-of-at-least-32-bytes',
      KIRO_LOG_LEVEL: 'error',
      KIRO_USER_MAX_ACTIVE: '10000',
      KIRO_USER_MAX_JOBS_PER_DAY: '100000',
      KIRO_WORKER_QUEUE_LIMIT: '100000',
    }),
    { commenter: async () => undefined, agentEnv: { FAKE_KIRO_SCENARIO: 'no-change', FAKE_KIRO_STEP_MS: '0' } },
  );
  try {
    const guard = w.app.guard;
    const times: number[] = [];
    const admit = guard.admit.bind(guard);
    guard.admit = async (req, body) => {
      const t0 = performance.now();
      try {
        return await admit(req, body);
      } finally {
        times.push(performance.now() - t0);
      }
    };
    const c = await signIn(w.url, alice.token);
    const pr = await makeTaskPr(gh, 'alice', 'app', 'kiro/bench-auth', 'bench', '\n[scenario: no-change]');
    // The first submit fills the caches (permission, the PR); the measured ones find them warm.
    const submit = (i: number) =>
      c.request('POST', '/generate-code', jobRequest('alice', 'app', 'kiro/bench-auth', pr.number, 'bench', `BENCH${i}`));
    await submit(-1);
    times.length = 0;
    const wall: number[] = [];
    for (let i = 0; i < SUBMITS; i++) {
      const t0 = performance.now();
      const res = await submit(i);
      wall.push(performance.now() - t0);
      if (res.status !== 202) throw new Error(`submit ${i}: ${res.status} ${await res.text()}`);
    }
    const p50 = percentile(times, 50);
    console.log(
      `identity: checks in POST /generate-code, caches warm: p50 ${round(p50, 2)} ms, p95 ${round(percentile(times, 95), 2)} ms (whole request p50 ${round(percentile(wall, 50), 1)} ms), ${times.length} submits`,
    );
    for (const id of w.queue.jobs.keys()) await new WorkerClient(w.url, WORKER_TOKEN).request('POST', `/jobs/${id}/cancel`);
    return {
      authAddedP50Ms: round(p50, 2),
      authAddedP95Ms: round(percentile(times, 95), 2),
      authSubmitP50Ms: round(percentile(wall, 50), 1),
    };
  } finally {
    await w.close();
    await gh.close();
  }
}

async function requestsPerJob(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  const dir = await tempDir();
  const key = await makeAppKey(dir);
  const alice = gh.addUser('alice');
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  const ghApp = gh.addApp('kiro-delegate', key.publicKeyPem);
  gh.install(ghApp, 'alice');
  const w = await startWorker(
    workerEnv(gh, '', await tempDir(), {
      KIRO_GITHUB_TOKEN: '',
      KIRO_GITHUB_APP_ID: String(ghApp.id),
      KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile,
      KIRO_AUTH: 'github',
      KIRO_SESSION_SECRET: 'a-bench-secret-of-at-least-32-bytes',
      KIRO_LOG_LEVEL: 'error',
    }),
    { agentEnv: { FAKE_KIRO_STEP_MS: '0' } },
  );
  try {
    const c = await signIn(w.url, alice.token);
    const one = async (n: number) => {
      const branch = `kiro/bench-requests-${n}`;
      const pr = await makeTaskPr(gh, 'alice', 'app', branch, `bench ${n}`);
      const mark = gh.requests.length;
      const res = await c.request('POST', '/generate-code', {
        ...jobRequest('alice', 'app', branch, pr.number, `bench ${n}`),
        draft: false,
      });
      const { jobId } = (await res.json()) as { jobId: string };
      await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes'], 60_000);
      // The final PR comment is the job's last GitHub request; the token's revocation follows it.
      const commentPath = `/api/v3/repos/alice/app/issues/${pr.number}/comments`;
      await pollUntil(() => gh.requests.slice(mark).some((r) => r.method === 'POST' && r.path === commentPath), {
        timeoutMs: 30_000,
        what: 'the PR comment',
      });
      await pollUntil(() => gh.requests.slice(mark).some((r) => r.method === 'DELETE' && r.path === '/api/v3/installation/token'), {
        timeoutMs: 30_000,
        what: 'the token revoked',
      });
      const seen = gh.requests.slice(mark).filter((r) => r.user !== 'alice' || r.kind !== 'git');
      const api = seen.filter((r) => r.kind === 'rest' || r.kind === 'graphql');
      const git = seen.filter((r) => r.kind === 'git');
      const breakdown = new Map<string, number>();
      for (const r of api) {
        const what = `${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, '/{n}').replace(/\/alice\/app/, '/{owner}/{repo}')}${r.graphqlFields ? ` (${r.graphqlFields.join(',')})` : ''}`;
        breakdown.set(what, (breakdown.get(what) ?? 0) + 1);
      }
      return { api: api.length, git: git.length, breakdown };
    };
    const cold = await one(1);
    const warm = await one(2);
    const show = (b: Map<string, number>) => [...b].map(([k, v]) => `    ${v} × ${k}`).join('\n');
    console.log(
      `identity: GitHub API requests for one job, github mode with an App: first job on the repository ${cold.api} (+${cold.git} git), later jobs ${warm.api} (+${warm.git} git)\n  first:\n${show(cold.breakdown)}\n  later:\n${show(warm.breakdown)}`,
    );
    return { githubRequestsPerJob: warm.api, githubRequestsFirstJob: cold.api, githubGitRequestsPerJob: warm.git };
  } finally {
    await w.close();
    await gh.close();
  }
}

export async function benchIdentity(): Promise<Record<string, number>> {
  return { ...(await authAdded()), ...(await requestsPerJob()) };
}
