// Extension benchmarks: time-to-PR against the plain REST sequence (get ref,
// create ref, put contents, create pull) with 100 ms injected latency per request,
// measured in the same run; the rate-limit cost of unchanged polls; bundle size;
// activation time of the built bundle.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GitHubStandIn } from '../test/support/github/server.js';
import { createGitHubClient } from '../extension/github/client.js';
import { createDelegationPr } from '../extension/github/createPr.js';
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
    const ours: number[] = [];
    const rest: number[] = [];
    let oursRequests = 0;
    for (let i = 0; i < RUNS; i++) {
      gh.clearLog();
      let t = performance.now();
      await createDelegationPr({ owner: 'alice', repo: 'app', baseBranch: 'main', prTitle: 'Bench', task }, { client });
      ours.push(performance.now() - t);
      oursRequests = gh.count((r) => r.kind !== 'git');

      t = performance.now();
      const branch = `rest-${i}-${Date.now()}`;
      const base = await client.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      await client.request('POST /repos/{owner}/{repo}/git/refs', { owner: 'alice', repo: 'app', ref: `refs/heads/${branch}`, sha: base.data.object.sha });
      await client.request('PUT /repos/{owner}/{repo}/contents/{path}', { owner: 'alice', repo: 'app', path: 'TASK.md', branch, message: 'task: Bench task', content: Buffer.from(renderTaskMarkdown(task)).toString('base64') });
      await client.request('POST /repos/{owner}/{repo}/pulls', { owner: 'alice', repo: 'app', title: 'Bench', head: branch, base: 'main' });
      rest.push(performance.now() - t);
    }
    const timeToPrRatio = percentile(ours, 50) / percentile(rest, 50);
    console.log(`extension: time-to-PR p50 ours ${round(percentile(ours, 50))} ms (${oursRequests} requests) vs REST sequence ${round(percentile(rest, 50))} ms (4 requests) at ${LATENCY_MS} ms latency -> ratio ${round(timeToPrRatio, 2)}`);

    // Unchanged polls: rate limit spent by 20 polls of a PR whose branch does not move.
    gh.latencyMs = 0;
    const store = new DelegationStore(new MemoryMemento());
    await delegate({ owner: 'alice', repo: 'app', baseBranch: 'main', title: 'Poll', objective: 'x', prTitle: 'Poll', constraints: [], acceptanceCriteria: [] }, undefined, { github: client, worker: () => undefined, store, branchPrefix: '', draft: false });
    const watcher = new PrWatcher({ store, github: async () => client, worker: () => undefined, notify: () => undefined, isFocused: () => true, intervalMs: 1000, pullCheckEvery: 1_000_000 });
    await watcher.pollOnce();
    const before = gh.rateLimits.remaining('user:alice', 'core');
    for (let i = 0; i < 20; i++) await watcher.pollOnce();
    const unchangedPollRateLimitCost = before - gh.rateLimits.remaining('user:alice', 'core');
    watcher.dispose();
    console.log(`extension: 20 unchanged polls cost ${unchangedPollRateLimitCost} rate-limit points`);

    const bundle = fileURLToPath(new URL('../dist/extension.js', import.meta.url));
    const bundleBytes = statSync(bundle).size;
    // Activation in a fresh Node process: require() of the bundle + activate(), with a vscode API double.
    const activationRuns = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ['-e', `
      const Module = require('module'); const double = require(${JSON.stringify(fileURLToPath(new URL('./vscodeDouble.cjs', import.meta.url)))});
      const orig = Module._load; Module._load = function (r, ...a) { return r === 'vscode' ? double : orig.call(this, r, ...a); };
      const t = performance.now(); const ext = require(${JSON.stringify(bundle)}); ext.activate(double.__context());
      process.stdout.write(String(performance.now() - t)); process.exit(0);`], { encoding: 'utf8' })));
    const activationMs = percentile(activationRuns, 50);
    console.log(`extension: bundle ${bundleBytes} bytes; activation (require + activate) p50 ${round(activationMs)} ms`);
    return { timeToPrRatio: round(timeToPrRatio, 3), timeToPrRequests: oursRequests, unchangedPollRateLimitCost, bundleBytes, activationMs: round(activationMs, 2) };
  } finally {
    await gh.close();
  }
}
