// Extension benchmarks: time-to-PR against the plain REST sequence (get ref,
// create ref, put contents, create pull) with 100 ms injected latency per request,
// measured in the same run, warm (the form prefetched the preparing query before
// submit: one request) and cold (query + mutation); the rate-limit cost of unchanged
// polls; bundle size; activation time of the built bundle.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GitHubStandIn } from '../test/support/github/server.js';
import { createGitHubClient } from '../extension/github/client.js';
import { createDelegationPr, prepareRepo } from '../extension/github/createPr.js';
import { delegate } from '../extension/delegations/delegate.js';
import { DelegationStore, MemoryMemento } from '../extension/delegations/model.js';
import { PrWatcher } from '../extension/github/watcher.js';
import { renderTaskMarkdown } from '../shared/taskMarkdown.js';
import { percentile, round } from './stats.js';

const RUNS = 10;
const LATENCY_MS = 100;

export async function benchExtension(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start({ latencyMs: LATENCY_MS });
  const alice = gh.addUser('alice');
  await gh.createRepo('alice', 'app');
  // Both sides on one client without the throttling plugin's queues (its 3 s spacing of
  // notification-triggering REST writes would slow the baseline, not the protocol).
  const client = createGitHubClient({ token: alice.token, baseUrl: gh.apiUrl, retryAfterBaseValue: 1, throttle: false });
  const task = { title: 'Bench task', objective: 'Measure.', constraints: ['c'], acceptanceCriteria: ['a'] };
  try {
    const warm: number[] = [];
    const cold: number[] = [];
    const rest: number[] = [];
    let warmRequests = 0;
    let coldRequests = 0;
    const key = { owner: 'alice', repo: 'app', baseBranch: 'main' };
    for (let i = 0; i < RUNS; i++) {
      // Warm: the form asked the preparing query while the user typed; the clock starts at submit.
      const prepared = await prepareRepo(client, key);
      gh.clearLog();
      let t = performance.now();
      await createDelegationPr({ ...key, prTitle: 'Bench', task }, { client, prepared });
      warm.push(performance.now() - t);
      warmRequests = gh.count((r) => r.kind !== 'git');

      gh.clearLog();
      t = performance.now();
      await createDelegationPr({ ...key, prTitle: 'Bench', task }, { client });
      cold.push(performance.now() - t);
      coldRequests = gh.count((r) => r.kind !== 'git');

      t = performance.now();
      const branch = `rest-${i}-${Date.now()}`;
      const base = await client.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      await client.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: 'alice',
        repo: 'app',
        ref: `refs/heads/${branch}`,
        sha: base.data.object.sha,
      });
      await client.request('PUT /repos/{owner}/{repo}/contents/{path}', {
        owner: 'alice',
        repo: 'app',
        path: 'TASK.md',
        branch,
        message: 'task: Bench task',
        content: Buffer.from(renderTaskMarkdown(task)).toString('base64'),
      });
      await client.request('POST /repos/{owner}/{repo}/pulls', { owner: 'alice', repo: 'app', title: 'Bench', head: branch, base: 'main' });
      rest.push(performance.now() - t);
    }
    const timeToPrRatio = percentile(warm, 50) / percentile(rest, 50);
    const timeToPrColdRatio = percentile(cold, 50) / percentile(rest, 50);
    console.log(
      `extension: time-to-PR p50 at ${LATENCY_MS} ms latency: REST sequence ${round(percentile(rest, 50))} ms (4 requests); ` +
        `ours warm ${round(percentile(warm, 50))} ms (${warmRequests} request at submit) -> timeToPrRatio ${round(timeToPrRatio, 2)}; ` +
        `ours cold ${round(percentile(cold, 50))} ms (${coldRequests} requests) -> timeToPrColdRatio ${round(timeToPrColdRatio, 2)}`,
    );

    // Unchanged polls: rate limit spent by 20 polls of a PR whose branch does not move.
    gh.latencyMs = 0;
    const store = new DelegationStore(new MemoryMemento());
    await delegate(
      {
        owner: 'alice',
        repo: 'app',
        baseBranch: 'main',
        title: 'Poll',
        objective: 'x',
        prTitle: 'Poll',
        constraints: [],
        acceptanceCriteria: [],
      },
      undefined,
      { github: client, worker: () => undefined, store, branchPrefix: '', draft: false },
    );
    const watcher = new PrWatcher({
      store,
      github: async () => client,
      worker: () => undefined,
      notify: () => undefined,
      isFocused: () => true,
      intervalMs: 1000,
      pullCheckEvery: 1_000_000,
    });
    await watcher.pollOnce();
    const before = gh.rateLimits.remaining('user:alice', 'core');
    for (let i = 0; i < 20; i++) await watcher.pollOnce();
    const unchangedPollRateLimitCost = before - gh.rateLimits.remaining('user:alice', 'core');
    watcher.dispose();
    console.log(`extension: 20 unchanged polls cost ${unchangedPollRateLimitCost} rate-limit points`);

    const bundle = fileURLToPath(new URL('../dist/extension.js', import.meta.url));
    // What loads at activation, and all the extension's code (the GitHub client loads on first use).
    const activationBundleBytes = statSync(bundle).size;
    const bundleBytes = activationBundleBytes + statSync(fileURLToPath(new URL('../dist/github-client.js', import.meta.url))).size;
    // Activation in a fresh Node process: require() of the bundle + activate(), with a vscode API double.
    const activationRuns = Array.from({ length: 5 }, () =>
      Number(
        execFileSync(
          process.execPath,
          [
            '-e',
            `
      const Module = require('module'); const double = require(${JSON.stringify(fileURLToPath(new URL('./vscodeDouble.cjs', import.meta.url)))});
      const orig = Module._load; Module._load = function (r, ...a) { return r === 'vscode' ? double : orig.call(this, r, ...a); };
      const t = performance.now(); const ext = require(${JSON.stringify(bundle)}); ext.activate(double.__context());
      process.stdout.write(String(performance.now() - t)); process.exit(0);`,
          ],
          { encoding: 'utf8' },
        ),
      ),
    );
    const activationMs = percentile(activationRuns, 50);
    console.log(
      `extension: code ${bundleBytes} bytes, of which ${activationBundleBytes} load at activation; activation (require + activate) p50 ${round(activationMs)} ms`,
    );
    return {
      timeToPrRatio: round(timeToPrRatio, 3),
      timeToPrRequests: warmRequests,
      timeToPrColdRatio: round(timeToPrColdRatio, 3),
      unchangedPollRateLimitCost,
      bundleBytes,
      activationBundleBytes,
      activationMs: round(activationMs, 2),
    };
  } finally {
    await gh.close();
  }
}
