// The extension's log reader against the real worker: it replays, follows, and
// when the connection is cut (a relay on loopback drops it mid-job) or the worker
// is killed and restarted, it resumes at the byte it had reached: the text it
// shows is exactly the job's log, nothing lost, nothing twice.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { LogFollower, describeJobEnd } from '../../../extension/worker/logFollower.js';
import { WorkerApi } from '../../../extension/worker/client.js';
import type { JobStatus } from '../../../shared/protocol.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import {
  startWorker,
  startWorkerProcess,
  stopProcess,
  workerEnv,
  makeTaskPr,
  jobRequest,
  WorkerClient,
  WORKER_TOKEN,
} from '../../support/worker.js';

/** A TCP relay to the worker whose open connections a test can cut. */
async function relay(target: () => number): Promise<{ port: number; cut(): void; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    // The worker is down (restarting): the client sees its connection fail, as it would without the relay.
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

function follow(api: WorkerApi, jobId: string) {
  let text = '';
  let reconnects = 0;
  let ended: { job: JobStatus | undefined; reason?: string } | undefined;
  const f = new LogFollower({
    source: api,
    jobId,
    onData: (t) => (text += t),
    onEnd: (job, reason) => (ended = { job, reason }),
    onReconnecting: () => reconnects++,
  });
  const done = f.start();
  return { f, done, text: () => text, reconnects: () => reconnects, ended: () => ended };
}

describe('log follower (extension) against the real worker', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  const children: ChildProcess[] = [];

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  after(async () => gh.close());

  it("resumes after the connection is cut mid-job, with the exact log and the job's end", async function () {
    const w = await startWorker(workerEnv(gh, bot.token, await tempDir(), { KIRO_WORKER_SLOTS: '1' }), {
      agentEnv: { FAKE_KIRO_STEP_MS: '250' },
    });
    const r = await relay(() => Number(new URL(w.url).port));
    try {
      const pr = await makeTaskPr(gh, 'alice', 'app', 'follow-cut', 'Follow');
      const c = new WorkerClient(w.url);
      const job = await c.submit(jobRequest('alice', 'app', 'follow-cut', pr.number, 'Follow'));
      const api = new WorkerApi({ baseUrl: `http://127.0.0.1:${r.port}`, token: async () => WORKER_TOKEN });
      const run = follow(api, job.jobId);
      await pollUntil(() => /Reading TASK\.md/.test(run.text()), { what: 'the first lines' });
      r.cut();
      await run.done;
      assert.ok(run.reconnects() >= 1, 'it reconnected');
      assert.equal(run.ended()?.job?.state, 'succeeded');
      const log = readFileSync(join(w.config.stateDir, 'logs', `${job.jobId}.log`), 'utf8');
      assert.equal(run.text(), log, 'exactly the log: nothing lost, nothing twice');
      assert.match(describeJobEnd(run.ended()?.job as JobStatus), /^job succeeded · exit code 0 · \d+ s · pushed [0-9a-f]{12}$/);
    } finally {
      r.close();
      await w.close();
    }
  });

  it('resumes across a worker killed with -9 and restarted (the job runs again, its log goes on)', async function () {
    const state = await tempDir();
    const env = workerEnv(gh, bot.token, state, { KIRO_WORKER_SLOTS: '1', FAKE_KIRO_STEP_MS: '600' });
    let worker = await startWorkerProcess(env);
    children.push(worker.child);
    let port = Number(new URL(worker.url).port);
    const r = await relay(() => port);
    try {
      const pr = await makeTaskPr(gh, 'alice', 'app', 'follow-restart', 'Restart');
      const c = new WorkerClient(worker.url);
      const job = await c.submit(jobRequest('alice', 'app', 'follow-restart', pr.number, 'Restart'));
      const api = new WorkerApi({ baseUrl: `http://127.0.0.1:${r.port}`, token: async () => WORKER_TOKEN });
      const run = follow(api, job.jobId);
      await pollUntil(() => /Reading TASK\.md/.test(run.text()), {
        what: `the first attempt's lines (so far: ${JSON.stringify(run.text())}, reconnects ${run.reconnects()}, ended ${JSON.stringify(run.ended())}, worker: ${worker.output().slice(-800)})`,
      });
      await stopProcess(worker.child, 'SIGKILL');
      worker = await startWorkerProcess({ ...env, KIRO_WORKER_PORT: String(port) }).catch(async () => {
        // The old port may be taken meanwhile: a new one, and the relay follows it.
        const w2 = await startWorkerProcess(env);
        port = Number(new URL(w2.url).port);
        return w2;
      });
      children.push(worker.child);
      await pollUntil(() => run.ended(), {
        timeoutMs: 30_000,
        what: `the follower to see the end (reconnects ${run.reconnects()}, text ${JSON.stringify(run.text().slice(-300))}, worker: ${worker.output().slice(-1500)})`,
      });
      assert.equal(run.ended()?.job?.state, 'succeeded', JSON.stringify(run.ended()));
      assert.equal(run.ended()?.job?.attempts, 2);
      const log = readFileSync(join(state, 'logs', `${job.jobId}.log`), 'utf8');
      assert.match(log, /attempt 2/);
      assert.equal(run.text(), log, 'both attempts, each byte once');
    } finally {
      r.close();
      await stopProcess(worker.child);
    }
  });

  it('says plainly when the worker does not know the job', async function () {
    const w = await startWorker(workerEnv(gh, bot.token, await tempDir()));
    try {
      const run = follow(new WorkerApi({ baseUrl: w.url, token: async () => WORKER_TOKEN }), 'no-such-job');
      await run.done;
      assert.equal(run.ended()?.job, undefined);
      assert.match(run.ended()?.reason ?? '', /does not know this job/);
    } finally {
      await w.close();
    }
  });
});
