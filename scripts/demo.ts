// The whole flow on loopback with stand-ins: a GitHub stand-in with a sample
// repository, the real worker service running the scripted agent in a pty, and the
// extension's own delegation code (the same modules the VS Code commands call).
// It delegates one task, streams the agent's terminal, shows the commit that lands,
// then keeps everything running for you to poke at until Ctrl-C (or SIGTERM), which
// stops every process it started and removes every temporary folder it made.
// `--once` stops after the first delegation; `--no-editor` skips code-server.
// `--worker-url <url> --github-url <url> [--worker-token <token>]` delegates to a
// worker that is already running (a host of `npm run cluster`, which prints this line)
// and to the GitHub stand-in it works with, instead of starting either.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GitHubStandIn } from '../test/support/github/server.js';
import { startWorker, workerEnv } from '../test/support/worker.js';
import { createGitHubClient } from '../extension/github/client.js';
import { delegate } from '../extension/delegations/delegate.js';
import { DelegationStore, MemoryMemento } from '../extension/delegations/model.js';
import { pushedMessage } from '../extension/delegations/describe.js';
import { PrWatcher } from '../extension/github/watcher.js';
import { startCodeServer, CODE_SERVER, NODE24 } from '../test/e2e/support/codeServer.js';
import { authHeader, gitWithToken } from '../test/support/helpers.js';
import { runGit } from '../worker-service/git/run.js';
import { WorkerApi } from '../extension/worker/client.js';
import { Lifecycle } from './support/lifecycle.js';
import { SAMPLE, SAMPLE_LOGIN_TS, seedSampleRepo } from './support/sampleRepo.js';
import { renderNotes } from '../worker-service/jobs/log.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const { values: opts } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'no-editor': { type: 'boolean', default: false },
    'worker-url': { type: 'string' },
    'worker-token': { type: 'string' },
    'github-url': { type: 'string' },
  },
});
const once = opts.once;
const withEditor = !once && !opts['no-editor'];
const life = new Lifecycle('demo');

/** The GitHub the demo delegates through: its own stand-in, or the one a running worker uses. */
interface DemoGitHub {
  origin: string;
  apiUrl: string;
  /** The commits on a branch that are not on main, newest first. */
  branchLog(branch: string): Promise<{ oid: string; subject: string; author: string }[]>;
}

async function ownGitHub(): Promise<DemoGitHub & { standIn: GitHubStandIn }> {
  const gh = await life.started('the GitHub stand-in', GitHubStandIn.start(), async (g) => {
    await g.close(); // removes its repositories too
    life.markRemoved(g.model.root);
  });
  await seedSampleRepo(gh);
  return {
    standIn: gh,
    origin: gh.origin,
    apiUrl: gh.apiUrl,
    branchLog: async (branch) => (await gh.model.repo(SAMPLE.owner, SAMPLE.repo)?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? [],
  };
}

/** A stand-in that is already running (npm run cluster's), with the sample repository in it. */
function theirGitHub(url: string): DemoGitHub {
  const origin = new URL(url).origin;
  return {
    origin,
    apiUrl: `${origin}/api/v3`,
    async branchLog(branch) {
      const dir = await life.tempFolder('kiro-demo-log-');
      await runGit(['init', '--quiet', '--bare', dir]);
      await gitWithToken(
        [
          'fetch',
          '--quiet',
          `${origin}/${SAMPLE.owner}/${SAMPLE.repo}.git`,
          'refs/heads/main:refs/heads/main',
          `refs/heads/${branch}:refs/heads/${branch}`,
        ],
        SAMPLE.devToken,
        dir,
      );
      const out = await runGit(['log', '--format=%H%x00%s%x00%an', `main..${branch}`], { cwd: dir });
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [oid = '', subject = '', author = ''] = l.split('\0');
          return { oid, subject, author };
        });
    },
  };
}

async function main(): Promise<void> {
  const givenWorker = opts['worker-url'];
  if (Boolean(givenWorker) !== Boolean(opts['github-url'])) {
    throw new Error(
      '--worker-url and --github-url go together: a running worker fetches and pushes through the GitHub it was started with (npm run cluster prints both)',
    );
  }
  const own = givenWorker ? undefined : await ownGitHub();
  const gh = own ?? theirGitHub(opts['github-url'] ?? '');
  let workerUrl: string;
  const workerToken = givenWorker ? opts['worker-token'] : undefined;
  if (!own) {
    workerUrl = new URL(givenWorker ?? '').origin;
    console.log(
      `${bold('GitHub stand-in')}  ${gh.apiUrl} (already running: repository ${SAMPLE.owner}/${SAMPLE.repo}, token ${SAMPLE.devToken})`,
    );
    console.log(`${bold('Kiro worker')}      ${workerUrl} (already running${workerToken ? ', with the token given' : ', no token'})\n`);
  } else {
    const state = await life.tempFolder('kiro-demo-');
    // On loopback the worker may run without a token (it refuses to on any other interface): one step less for you.
    const worker = await life.started(
      'the worker',
      startWorker(
        workerEnv(own.standIn, SAMPLE.botToken, state, { KIRO_LOG_LEVEL: 'warn', KIRO_WORKER_TOKEN: '', KIRO_ALLOW_UNAUTHENTICATED: '1' }),
        { agentEnv: { FAKE_KIRO_STEP_MS: '400' } },
      ),
      (w) => w.close(),
    );
    workerUrl = worker.url;
    console.log(`${bold('GitHub stand-in')}  ${gh.apiUrl} (repository ${SAMPLE.owner}/${SAMPLE.repo}, token ${SAMPLE.devToken})`);
    console.log(`${bold('Kiro worker')}      ${workerUrl} (loopback, no token; state in ${state})\n`);
  }

  const store = new DelegationStore(new MemoryMemento());
  const github = createGitHubClient({ token: SAMPLE.devToken, baseUrl: gh.apiUrl });
  const api = new WorkerApi({ baseUrl: workerUrl, token: async () => workerToken });
  if (givenWorker) {
    const health = await api.health();
    if (health.kind !== 'ok') throw new Error(`the worker at ${workerUrl}: ${health.message}`);
  }
  const t0 = performance.now();
  const done = await delegate(
    {
      owner: SAMPLE.owner,
      repo: SAMPLE.repo,
      baseBranch: 'main',
      title: 'Implement the login function',
      objective: 'Make login() check an e-mail and a password.',
      prTitle: 'Implement the login function',
      constraints: ['No new dependencies'],
      acceptanceCriteria: ['Wrong passwords are refused'],
    },
    { path: 'src/login.ts', startLine: 1, endLine: 3, code: SAMPLE_LOGIN_TS },
    { github, worker: () => api, store, branchPrefix: 'kiro/', draft: false, webUrl: gh.origin },
  );
  console.log(`${bold('PR created')} in ${Math.round(performance.now() - t0)} ms: ${done.result.prUrl}`);
  console.log(`  branch ${done.result.branchName} · confirmation code ${done.result.confirmationCode}\n`);
  await done.sending;
  const jobId = store.get(done.result.confirmationCode)?.jobId ?? '';
  console.log(`${bold('Agent terminal')} (job ${jobId}):`);
  const log = await fetch(`${workerUrl}/jobs/${jobId}/log`, { headers: workerToken ? { authorization: `Bearer ${workerToken}` } : {} });
  // The worker's notes travel as APC strings (jobs/log.ts): shown here as the lines they stand for.
  process.stdout.write(
    `${renderNotes(await log.text())
      .replace(/\r/g, '')
      .trimEnd()
      .replace(/^/gm, '  │ ')}\n`,
  );

  const watcher = new PrWatcher({
    store,
    github: async () => github,
    worker: () => api,
    isFocused: () => true,
    intervalMs: 300,
    notify: (e) => {
      // The extension's own words, the agent's summary included.
      if (e.type === 'pushed')
        console.log(`${bold('Notification')}: ${pushedMessage(e.delegation, e.summary)} (${e.headOid.slice(0, 12)})`);
      else if (e.type === 'job-ended') console.log(`${bold('Notification')}: job ${e.job.state}: ${e.job.error?.message ?? ''}`);
    },
  });
  life.onStop('stop watching the PR', async () => watcher.dispose());
  watcher.start();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (store.get(done.result.confirmationCode)?.state !== 'queued' && store.get(done.result.confirmationCode)?.state !== 'running') {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  const commits = await gh.branchLog(done.result.branchName);
  console.log(`\n${bold('Branch history')}:\n${commits.map((c) => `  ${c.oid.slice(0, 12)} ${c.subject} (${c.author})`).join('\n')}`);
  console.log(`\n${bold('The PR in your browser')}: ${done.result.prUrl} (its diff: ${done.result.prUrl}/files)`);
  if (once) return life.stop(commits.length === 2 ? 0 : 1);

  // Now the same in a real VS Code in your browser: code-server with the extension
  // installed and a clone of the sample repository as its workspace.
  if (withEditor && existsSync(CODE_SERVER) && existsSync(NODE24)) {
    const workspace = join(await life.tempFolder('kiro-demo-ws-'), SAMPLE.repo);
    await gitWithToken(['clone', '--quiet', `${gh.origin}/${SAMPLE.owner}/${SAMPLE.repo}.git`, workspace], SAMPLE.devToken);
    await runGit(['config', 'http.extraHeader', authHeader(SAMPLE.devToken)], { cwd: workspace });
    const vsix = join(await life.tempFolder('kiro-demo-vsix-'), 'kiro-delegate.vsix');
    execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix], { stdio: 'ignore' });
    const cs = await life.started(
      'code-server',
      startCodeServer({
        workspace,
        vsix,
        settings: {
          'kiroDelegate.workerUrl': workerUrl,
          'kiroDelegate.githubEnterpriseUrl': gh.origin,
          'kiroDelegate.pollIntervalSeconds': 3,
          'kiroDelegate.healthIntervalSeconds': 5,
        },
      }),
      async (c) => {
        await c.stop();
        await rm(c.home, { recursive: true, force: true }); // its user data, extensions and HOME
        life.markRemoved(c.home);
      },
    );
    console.log(`\n${bold('Open this in your browser')}:  ${cs.url}/?folder=${encodeURIComponent(workspace)}`);
    if (workerToken) console.log(`  0. F1 → "Kiro: Set Worker Token" → paste ${workerToken}`);
    console.log(
      `  1. F1 → "Kiro: Delegate Task" → when asked for a GitHub token, paste ${SAMPLE.devToken}   (code-server has no GitHub sign-in; the stand-in takes this token)`,
    );
    console.log('  2. Or select code in src/login.ts → right-click → "Delegate Selection to Kiro"');
  } else if (withEditor) {
    console.log(
      '\n(code-server is not installed, so there is no editor to open: run  bash scripts/e2e/install.sh --no-browser  and start the demo again)',
    );
  }
  console.log(
    `\nEverything keeps running: try  curl ${workerToken ? `-H 'authorization: Bearer ${workerToken}' ` : ''}${workerUrl}/health`,
  );
  console.log('Ctrl-C stops it all and removes the temporary folders.');
}

main().catch((e: unknown) => {
  if (life.isStopping) return; // a start cut short by Ctrl-C: stop() is already cleaning up
  console.error(e);
  void life.stop(1);
});
