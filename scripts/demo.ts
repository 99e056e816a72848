// The whole flow on loopback with stand-ins: a GitHub stand-in with a sample
// repository, the real worker service running the scripted agent in a pty, and the
// extension's own delegation code (the same modules the VS Code commands call).
// It delegates one task, streams the agent's terminal, shows the commit that lands,
// then keeps everything running for you to poke at until Ctrl-C (or SIGTERM), which
// stops every process it started and removes every temporary folder it made.
// `--once` stops after the first delegation; `--no-editor` skips code-server.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubStandIn } from '../test/support/github/server.js';
import { startWorker, workerEnv } from '../test/support/worker.js';
import { createGitHubClient } from '../extension/github/client.js';
import { delegate } from '../extension/delegations/delegate.js';
import { DelegationStore, MemoryMemento } from '../extension/delegations/model.js';
import { PrWatcher } from '../extension/github/watcher.js';
import { startCodeServer, CODE_SERVER, NODE24 } from '../test/e2e/support/codeServer.js';
import { authHeader, gitWithToken } from '../test/support/helpers.js';
import { runGit } from '../worker-service/git/run.js';
import { WorkerApi } from '../extension/worker/client.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const once = process.argv.includes('--once');
const withEditor = !once && !process.argv.includes('--no-editor');

// What to undo on the way out, the last made first. Each step is registered before
// its start is awaited, so a Ctrl-C during a start still stops what it started.
const undo: { what: string; run: () => Promise<unknown> }[] = [];
const removed: string[] = [];
const stopped: string[] = [];
let stopping: Promise<never> | undefined;

function stop(code: number, why?: string): Promise<never> {
  stopping ??= (async () => {
    if (why) console.log(`\n${why}: stopping the demo…`);
    for (const step of undo.splice(0).reverse()) {
      await step.run().catch((e: unknown) => console.error(`  could not ${step.what}: ${(e as Error).message}`));
    }
    const list = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}` : xs[0] ?? 'nothing');
    console.log(`Demo stopped: ${list(stopped)} ${stopped.length > 1 ? 'are' : 'is'} down; removed ${list(removed)}.`);
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stop(0, 'Ctrl-C'));
process.on('SIGTERM', () => void stop(0, 'SIGTERM'));

async function started<T>(what: string, start: Promise<T>, close: (t: T) => Promise<unknown>): Promise<T> {
  undo.push({ what: `stop ${what}`, run: async () => { await close(await start); stopped.unshift(what); } });
  return start;
}

async function tempFolder(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  undo.push({ what: `remove ${dir}`, run: async () => { await rm(dir, { recursive: true, force: true }); removed.push(dir); } });
  return dir;
}

async function main(): Promise<void> {
  const gh = await started('the GitHub stand-in', GitHubStandIn.start(), async (g) => {
    await g.close(); // removes its repositories too
    removed.push(g.model.root);
  });
  const dev = gh.addUser('demo-dev', 'ghp_demo_dev_token');
  const bot = gh.addUser('kiro-bot', 'ghp_demo_bot_token');
  await gh.createRepo('demo', 'sample-app', { files: [{ path: 'README.md', contents: '# sample-app\n' }, { path: 'src/login.ts', contents: 'export function login() {\n  // TODO\n}\n' }] });
  gh.grant('demo', 'sample-app', 'demo-dev', 'WRITE');
  gh.grant('demo', 'sample-app', 'kiro-bot', 'WRITE');
  const state = await tempFolder('kiro-demo-');
  // On loopback the worker may run without a token (it refuses to on any other interface): one step less for you.
  const worker = await started('the worker', startWorker(workerEnv(gh, bot.token, state, { KIRO_LOG_LEVEL: 'warn', KIRO_WORKER_TOKEN: '' }), { agentEnv: { FAKE_KIRO_STEP_MS: '400' } }), (w) => w.close());
  console.log(`${bold('GitHub stand-in')}  ${gh.apiUrl} (repository demo/sample-app, token ${dev.token})`);
  console.log(`${bold('Kiro worker')}      ${worker.url} (loopback, no token; state in ${state})\n`);

  const store = new DelegationStore(new MemoryMemento());
  const github = createGitHubClient({ token: dev.token, baseUrl: gh.apiUrl });
  const api = new WorkerApi({ baseUrl: worker.url, token: async () => undefined });
  const t0 = performance.now();
  const done = await delegate(
    { owner: 'demo', repo: 'sample-app', baseBranch: 'main', title: 'Implement the login function', objective: 'Make login() check an e-mail and a password.', prTitle: 'Implement the login function', constraints: ['No new dependencies'], acceptanceCriteria: ['Wrong passwords are refused'] },
    { path: 'src/login.ts', startLine: 1, endLine: 3, code: 'export function login() {\n  // TODO\n}\n' },
    { github, worker: () => api, store, branchPrefix: 'kiro/', draft: false, webUrl: gh.webUrl },
  );
  console.log(`${bold('PR created')} in ${Math.round(performance.now() - t0)} ms: ${done.result.prUrl}`);
  console.log(`  branch ${done.result.branchName} · confirmation code ${done.result.confirmationCode}\n`);
  await done.sending;
  const jobId = store.get(done.result.confirmationCode)?.jobId ?? '';
  console.log(`${bold('Agent terminal')} (job ${jobId}):`);
  const log = await fetch(`${worker.url}/jobs/${jobId}/log`);
  process.stdout.write(`${(await log.text()).replace(/\r/g, '').trimEnd().replace(/^/gm, '  │ ')}\n`);

  const watcher = new PrWatcher({
    store, github: async () => github, worker: () => api, isFocused: () => true, intervalMs: 300,
    notify: (e) => {
      if (e.type === 'pushed') console.log(`${bold('Notification')}: Kiro pushed code to PR #${e.delegation.prNumber}: ${e.delegation.title} (${e.headOid.slice(0, 12)})`);
      else if (e.type === 'job-ended') console.log(`${bold('Notification')}: job ${e.job.state}: ${e.job.error?.message ?? ''}`);
    },
  });
  undo.push({ what: 'stop watching the PR', run: async () => watcher.dispose() });
  watcher.start();
  const repo = gh.model.repo('demo', 'sample-app');
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (store.get(done.result.confirmationCode)?.state !== 'queued' && store.get(done.result.confirmationCode)?.state !== 'running') {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  const commits = (await repo?.bare.log(`refs/heads/main..refs/heads/${done.result.branchName}`)) ?? [];
  console.log(`\n${bold('Branch history')}:\n${commits.map((c) => `  ${c.oid.slice(0, 12)} ${c.subject} (${c.author})`).join('\n')}`);
  console.log(`\n${bold('The PR in your browser')}: ${done.result.prUrl} (its diff: ${done.result.prUrl}/files)`);
  if (once) return stop(commits.length === 2 ? 0 : 1);

  // Now the same in a real VS Code in your browser: code-server with the extension
  // installed and a clone of the sample repository as its workspace.
  if (withEditor && existsSync(CODE_SERVER) && existsSync(NODE24)) {
    const workspace = join(await tempFolder('kiro-demo-ws-'), 'sample-app');
    await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/demo/sample-app.git`, workspace], dev.token);
    await runGit(['config', 'http.extraHeader', authHeader(dev.token)], { cwd: workspace });
    const vsix = join(await tempFolder('kiro-demo-vsix-'), 'kiro-delegate.vsix');
    execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix], { stdio: 'ignore' });
    const cs = await started('code-server', startCodeServer({
      workspace, vsix,
      settings: { 'kiroDelegate.workerUrl': worker.url, 'kiroDelegate.githubEnterpriseUrl': gh.origin, 'kiroDelegate.pollIntervalSeconds': 3, 'kiroDelegate.healthIntervalSeconds': 5 },
    }), async (c) => {
      await c.stop();
      await rm(c.home, { recursive: true, force: true }); // its user data, extensions and HOME
      removed.push(c.home);
    });
    console.log(`\n${bold('Open this in your browser')}:  ${cs.url}/?folder=${encodeURIComponent(workspace)}`);
    console.log(`  1. F1 → "Kiro: Delegate Task" → when asked for a GitHub token, paste ${dev.token}   (code-server has no GitHub sign-in; the stand-in takes this token)`);
    console.log('  2. Or select code in src/login.ts → right-click → "Delegate Selection to Kiro"');
  } else if (withEditor) {
    console.log('\n(code-server is not installed, so there is no editor to open: run  bash scripts/e2e/install.sh --no-browser  and start the demo again)');
  }
  console.log(`\nEverything keeps running: try  curl ${worker.url}/health`);
  console.log('Ctrl-C stops it all and removes the temporary folders.');
}

main().catch((e: unknown) => {
  if (stopping) return; // a start cut short by Ctrl-C: stop() is already cleaning up
  console.error(e);
  void stop(1);
});
