// No open door on loopback: a worker that holds GitHub credentials refuses to start
// without a token unless told so on purpose, and a worker without a token serves only
// requests addressed to loopback (a web page that rebinds its own name to 127.0.0.1
// gets 421, and nothing it sent is queued).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, type TestWorker } from '../../support/worker.js';

/** A request with a Host header of our choosing (fetch will not send a forged one). */
function withHost(url: string, host: string, method = 'GET', path = '/health', body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${url}${path}`, { method, headers: { host, ...(data ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('no open door on loopback', function () {
  this.timeout(30_000);
  let gh: GitHubStandIn;
  let botToken: string;
  before(async () => {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => gh?.close());

  it('with GitHub credentials and no KIRO_WORKER_TOKEN the service refuses to start (exit 78, saying how to fix it), unless KIRO_ALLOW_UNAUTHENTICATED=1', async function () {
    const env = {
      ...workerEnv(gh, botToken, await tempDir(), { KIRO_WORKER_TOKEN: '' }),
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
    };
    const child = spawn(process.execPath, ['dist/worker/server.mjs'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 78, out);
    assert.match(out, /KIRO_WORKER_TOKEN: required when the worker holds GitHub credentials.*KIRO_ALLOW_UNAUTHENTICATED=1/s);
    const w = await startWorker(workerEnv(gh, botToken, await tempDir(), { KIRO_WORKER_TOKEN: '', KIRO_ALLOW_UNAUTHENTICATED: '1' }));
    await w.close();
  });

  it('without a token, a request addressed to another name (DNS rebinding) gets 421 and queues nothing; 127.0.0.1 and localhost are served', async function () {
    const w: TestWorker = await startWorker(
      workerEnv(gh, botToken, await tempDir(), { KIRO_WORKER_TOKEN: '', KIRO_ALLOW_UNAUTHENTICATED: '1' }),
    );
    try {
      const port = new URL(w.url).port;
      const pr = await makeTaskPr(gh, 'alice', 'app', 'rebind-1', 'rebind');
      for (const host of [`attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, 'localhost', `localhost:${Number(port) + 1}`]) {
        const health = await withHost(w.url, host);
        assert.equal(health.status, 421, `Host: ${host} → ${health.body}`);
        assert.equal(JSON.parse(health.body).code, 'MISDIRECTED');
        const submit = await withHost(w.url, host, 'POST', '/generate-code', jobRequest('alice', 'app', 'rebind-1', pr.number, 'rebind'));
        assert.equal(submit.status, 421);
      }
      assert.equal(w.queue.jobs.size, 0, 'nothing queued');
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`])
        assert.equal((await withHost(w.url, host)).status, 200, host);
      const ok = await withHost(
        w.url,
        `127.0.0.1:${port}`,
        'POST',
        '/generate-code',
        jobRequest('alice', 'app', 'rebind-1', pr.number, 'rebind'),
      );
      assert.equal(ok.status, 202, ok.body);
    } finally {
      await w.close();
    }
  });
});
