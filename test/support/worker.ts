// Starts the real worker service for tests: in-process on a loopback port, or as
// a child process (for kill -9 and SIGTERM), wired to the GitHub stand-in and the
// scripted agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../worker-service/app.js';
import { loadConfig, type WorkerConfig } from '../../worker-service/config.js';
import type { EmbeddedQueue } from '../../worker-service/queue/embedded/embeddedQueue.js';
import type { Commenter } from '../../worker-service/github/comments.js';
import type { JobStatus, JobAccepted, GenerateCodeRequest } from '../../shared/protocol.js';
import { renderTaskMarkdown } from '../../shared/taskMarkdown.js';
import type { GitHubStandIn } from './github/server.js';
import { fakeKiroPath, repoRoot } from './paths.js';
import { pollUntil } from './helpers.js';

export const WORKER_TOKEN = 'test-worker-token-0123456789';

export function workerEnv(
  gh: GitHubStandIn,
  botToken: string,
  stateDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KIRO_WORKER_HOST: '127.0.0.1',
    KIRO_WORKER_PORT: '0',
    KIRO_WORKER_TOKEN: WORKER_TOKEN,
    KIRO_WORKER_STATE_DIR: stateDir,
    KIRO_AGENT_COMMAND: JSON.stringify([fakeKiroPath, 'chat', '--no-interactive', '--trust-all-tools', '{prompt}']),
    KIRO_GIT_BASE_URL: gh.gitBaseUrl,
    KIRO_GITHUB_API_URL: gh.apiUrl,
    KIRO_GITHUB_TOKEN: botToken,
    KIRO_AGENT_ENV_ALLOW: 'FAKE_KIRO_SCENARIO,FAKE_KIRO_STEP_MS,FAKE_KIRO_RECORD',
    // The scripted agents (and the real CLIs under .cache/agents) live in this checkout, which may itself be
    // under a path the sandbox hides (a CI clone in /tmp): it is shown to agents, read-only.
    KIRO_AGENT_READ_PATHS: repoRoot,
    KIRO_LOG_LEVEL: 'warn',
    // Most suites name their branches freely (busy-a, comment-1): no prefix rule for them. The
    // identity tests, the demo and real deployments have the default, kiro/.
    KIRO_BRANCH_PREFIX: '',
    // Tests poll job states many times a second, as no person's client does: the per-IP limit
    // (600 a minute by default) would refuse them mid-test. Its own test sets a low one.
    KIRO_RATE_LIMIT_PER_MIN: '1000000',
    // The scripted agents reach nothing: no egress bridge to start per job. The suites about the network set their own ('' is the default).
    KIRO_AGENT_NETWORK: 'none',
    ...extra,
  };
}

export interface TestWorker {
  app: FastifyInstance;
  url: string;
  config: WorkerConfig;
  /** The worker's embedded queue; throws for a worker in a fleet (which has none). */
  readonly queue: EmbeddedQueue;
  close(): Promise<void>;
}

/** The app's embedded queue; throws when it runs a fleet's queue on Redis instead. */
export function embeddedQueueOf(app: FastifyInstance): EmbeddedQueue {
  if (!app.embeddedQueue) throw new Error('this worker is part of a fleet (KIRO_REDIS_URL): it has no embedded queue');
  return app.embeddedQueue;
}

export async function startWorker(
  env: Record<string, string>,
  opts: { commenter?: Commenter; agentEnv?: NodeJS.ProcessEnv; port?: number; logStream?: { write(line: string): void } } = {},
): Promise<TestWorker> {
  const config = loadConfig(env);
  // The agent's allow-list draws from an environment that also holds the service's secrets,
  // as a real deployment's would, so tests can prove none of them reach the agent.
  const agentSource = { PATH: process.env.PATH, HOME: process.env.HOME, ...env, ...opts.agentEnv };
  const app = await buildApp(config, {
    logger: opts.logStream ? { level: 'info', stream: opts.logStream } : false,
    commenter: opts.commenter,
    env: agentSource,
  });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return {
    app,
    url: `http://127.0.0.1:${addr.port}`,
    config,
    get queue() {
      return embeddedQueueOf(app);
    },
    close: () => app.close(),
  };
}

export interface ChildWorker {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * The built service (dist/worker/server.mjs) as a separate process. `detached`: in its
 * own process group (a terminal's Ctrl-C then reaches only the parent, which stops it in
 * order); `onOutput` sees its output as it comes; `keepChars` bounds what `output()` keeps;
 * `cwd`: a folder holding another copy of dist/worker and its node_modules (default this checkout).
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  opts: { detached?: boolean; onOutput?: (text: string) => void; keepChars?: number; cwd?: string } = {},
): Promise<ChildWorker> {
  const child = spawn(process.execPath, ['dist/worker/server.mjs'], {
    cwd: opts.cwd ?? repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, KIRO_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  const take = (d: Buffer) => {
    const text = d.toString();
    opts.onOutput?.(text);
    out += text;
    if (opts.keepChars !== undefined && out.length > opts.keepChars) out = out.slice(-opts.keepChars);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const url = await pollUntil(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], {
    timeoutMs: 15_000,
    what: `worker to listen; output: ${out}`,
  });
  return { child, url, output: () => out };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

export class WorkerClient {
  constructor(
    readonly url: string,
    readonly token: string | null = WORKER_TOKEN,
  ) {}

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      signal,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async submit(req: GenerateCodeRequest): Promise<JobAccepted & { status: number }> {
    const res = await this.request('POST', '/generate-code', req);
    const json = (await res.json()) as JobAccepted;
    if (res.status >= 300) throw new Error(`submit failed ${res.status}: ${JSON.stringify(json)}`);
    return { ...json, status: res.status };
  }

  /** The job's status; throws on any other answer (a 429 or 503 is not a state). */
  async job(id: string): Promise<JobStatus> {
    const res = await this.request('GET', `/jobs/${id}`);
    if (!res.ok) throw new Error(`GET /jobs/${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as JobStatus;
  }

  waitFor(id: string, states: string[], timeoutMs = 20_000): Promise<JobStatus> {
    return pollUntil(
      async () => {
        const j = await this.job(id);
        return states.includes(j.state) ? j : undefined;
      },
      { timeoutMs, what: `job ${id} to reach ${states.join('|')}` },
    );
  }
}

/** A PR branch as the extension makes it: base + a TASK.md commit, and an open PR. */
export async function makeTaskPr(
  gh: GitHubStandIn,
  owner: string,
  repo: string,
  branch: string,
  title: string,
  taskExtra = '',
): Promise<{ number: number; taskSha: string }> {
  const r = gh.model.repo(owner, repo);
  if (!r) throw new Error('no repo');
  const base = await r.bare.resolve(`refs/heads/${r.defaultBranch}`);
  const md = renderTaskMarkdown({ title, objective: `Do ${title}.${taskExtra}`, constraints: [], acceptanceCriteria: ['it works'] });
  const sha = await r.bare.commit({
    parent: base,
    additions: [{ path: 'TASK.md', contents: md }],
    message: `task: ${title}`,
    author: { name: owner, email: `${owner}@e` },
  });
  await r.bare.updateRef(`refs/heads/${branch}`, sha, '');
  const pr = gh.model.addPull(r, { title, body: '', head: branch, base: r.defaultBranch, draft: false, author: owner });
  return { number: pr.number, taskSha: sha };
}

export function jobRequest(
  owner: string,
  repo: string,
  branch: string,
  prNumber: number,
  title: string,
  key = `PR${Date.now()}${Math.floor(Math.random() * 1000)}`,
): GenerateCodeRequest {
  return { owner, repo, branch, prNumber, baseBranch: 'main', title, taskDescription: `# ${title}\n`, idempotencyKey: key };
}
