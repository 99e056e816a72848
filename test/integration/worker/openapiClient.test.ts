// The extension's worker client asks only for what the worker's description (GET
// /openapi.json) lists: every call the client makes, through the real client against a
// real KIRO_AUTH=github worker, matches a described method and path.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { tempDir, urlOf } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import { WorkerAuth } from '../../../extension/worker/session.js';
import { MemorySecrets } from '../../support/memorySecrets.js';

/** `/jobs/{id}/log` → a pattern for the concrete paths it stands for. */
const templatePattern = (p: string) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`);

describe("the extension's worker client and the worker's OpenAPI description", function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let w: TestWorker;
  let alice: { token: string };

  before(async function () {
    const set = await standInWithAliceApp();
    ({ gh, alice } = set);
    w = await startWorker(
      workerEnv(gh, set.botToken, await tempDir(), {
        KIRO_AUTH: 'github',
        KIRO_SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!',
        KIRO_BRANCH_PREFIX: '',
      }),
      { agentEnv: { FAKE_KIRO_STEP_MS: '200' } },
    );
  });
  after(async () => {
    await w?.close();
    await gh?.close();
  });

  it('every request the client makes is a described operation, and the scan of its source finds no call left out', async () => {
    const doc = (await (await fetch(`${w.url}/openapi.json`, { headers: { authorization: `Bearer ${WORKER_TOKEN}` } })).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const seen: { method: string; path: string }[] = [];
    const recording = (async (input: string | URL | Request, init: RequestInit = {}) => {
      seen.push({ method: init.method ?? 'GET', path: new URL(urlOf(input)).pathname });
      return fetch(input, init);
    }) as typeof fetch;
    const auth = new WorkerAuth({
      baseUrl: w.url,
      fetch: recording,
      workerToken: async () => undefined,
      githubToken: async () => alice.token,
      secrets: new MemorySecrets(),
      mayCarryCredentials: async () => ({ ok: true }),
    });
    const api = new WorkerApi({ baseUrl: w.url, credentials: auth, fetch: recording });

    assert.equal((await api.health()).kind, 'ok');
    const pr = await makeTaskPr(gh, 'alice', 'app', 'described', 'Described');
    const sent = await api.submit(jobRequest('alice', 'app', 'described', pr.number, 'Described'));
    assert.equal(sent.kind, 'accepted', JSON.stringify(sent));
    const jobId = sent.kind === 'accepted' ? sent.jobId : '';
    assert.ok(await api.job(jobId));
    assert.equal((await api.listMine()).kind, 'ok');
    for (const open of [(s: AbortSignal) => api.openEvents([jobId], undefined, s), (s: AbortSignal) => api.openLog(jobId, 0, s)]) {
      const ctl = new AbortController();
      const res = await open(ctl.signal);
      assert.equal(res.status, 200);
      ctl.abort();
    }
    assert.equal((await api.cancel(jobId)).kind, 'ok');

    const undescribed = seen.filter(
      ({ method, path }) => !Object.entries(doc.paths).some(([p, ops]) => templatePattern(p).test(path) && ops[method.toLowerCase()]),
    );
    assert.deepEqual(undescribed, [], 'requests the description does not list');
    // Every call site in the client's source was exercised above (a new one must be added here, and described).
    const dir = join(repoRoot, 'extension', 'worker');
    const sites = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const [, m, p] of src.matchAll(/this\.send\('([A-Z]+)', [`']([^`'?$]+)/g)) sites.add(`${m} ${p}`);
      for (const [, p] of src.matchAll(/fetchImpl\(`\$\{this\.baseUrl\}([^`?$]+)/g)) sites.add(`* ${p}`);
    }
    assert.ok(sites.size >= 8, `the scan found the client's calls: ${[...sites].join(', ')}`);
    for (const site of sites) {
      const [method, prefix] = site.split(' ') as [string, string];
      assert.ok(
        seen.some((s) => (method === '*' || s.method === method) && s.path.startsWith(prefix)),
        `${site} (in extension/worker/) was exercised`,
      );
    }
  });
});
