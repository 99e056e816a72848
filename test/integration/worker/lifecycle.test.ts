// Nothing accepted is lost: the built service as a real process, killed with
// SIGKILL mid-job and restarted, and drained with SIGTERM.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { startWorkerProcess, stopProcess, workerEnv, WorkerClient, makeTaskPr, jobRequest, WORKER_TOKEN } from '../../support/worker.js';
import type { Job } from '../../../worker-service/jobs/job.js';
import { descendants } from '../../../worker-service/sandbox/processTree.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('worker lifecycle (separate process)', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let botToken: string;

  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  const children: ChildProcess[] = [];
  // Whatever a failed test left running is stopped, so the suite never hangs on it.
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  after(async () => gh.close());

  it('after kill -9 mid-job and a restart, the job runs again once from a clean checkout and lands', async function () {
    const state = await tempDir();
    const env = workerEnv(gh, botToken, state, { KIRO_WORKER_SLOTS: '1', FAKE_KIRO_STEP_MS: '1500' });
    const first = await startWorkerProcess(env);
    children.push(first.child);
    const pr = await makeTaskPr(gh, 'alice', 'app', 'killed-1', 'Survive');
    const c1 = new WorkerClient(first.url);
    const job = await c1.submit(jobRequest('alice', 'app', 'killed-1', pr.number, 'Survive'));
    await c1.waitFor(job.jobId, ['running']);
    const orphan = await pollUntil(
      () => {
        const record = JSON.parse(readFileSync(join(state, 'jobs', `${job.jobId}.json`), 'utf8')) as Job;
        return record.agentPid && alive(record.agentPid) ? record.agentPid : undefined;
      },
      { timeoutMs: 5_000, what: `a running agent in the job record (worker output: ${first.output().slice(-500)})` },
    );
    // bwrap, its init and the agent, once the agent runs inside.
    const sandboxed = await pollUntil(
      () => {
        const all = [orphan, ...descendants(orphan)];
        return all.some((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('fake-kiro');
          } catch {
            return false;
          }
        })
          ? all
          : undefined;
      },
      { timeoutMs: 5_000, what: 'the agent running inside its sandbox' },
    );
    await stopProcess(first.child, 'SIGKILL');
    // The sandbox dies with the service (bwrap --die-with-parent): nothing of it waits for a restart.
    await pollUntil(() => sandboxed.every((p) => !alive(p)), { timeoutMs: 5_000, what: 'the sandbox to die with the service' });

    const second = await startWorkerProcess(env);
    children.push(second.child);
    try {
      const c2 = new WorkerClient(second.url);
      const done = await c2.waitFor(job.jobId, ['succeeded', 'failed'], 30_000);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.attempts, 2);
      const log = (await gh.model.repo('alice', 'app')?.bare.log('refs/heads/main..refs/heads/killed-1')) ?? [];
      assert.deepEqual(
        log.map((l) => l.subject),
        ['feat: Survive', 'task: Survive'],
        'one agent commit on top of TASK.md',
      );
      // The service's own log (pino, level info, every request) never holds a token.
      for (const out of [first.output(), second.output()]) {
        assert.ok(out.includes('"msg":"job ended"') || out.includes('job'), 'the log has content');
        for (const secret of [botToken, WORKER_TOKEN]) assert.equal(out.includes(secret), false, 'a token reached the service log');
      }
    } finally {
      await stopProcess(second.child);
    }
  });

  it('a job interrupted twice (kill -9 mid-run, twice) fails with INTERRUPTED after the next restart, and pushes nothing', async function () {
    const state = await tempDir();
    const env = workerEnv(gh, botToken, state, { KIRO_WORKER_SLOTS: '1', FAKE_KIRO_SCENARIO: 'hang' });
    const pr = await makeTaskPr(gh, 'alice', 'app', 'killed-twice', 'Twice');
    const before = await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/killed-twice');
    let jobId = '';
    for (const round of [1, 2]) {
      const w = await startWorkerProcess(env);
      children.push(w.child);
      const c = new WorkerClient(w.url);
      if (round === 1) jobId = (await c.submit(jobRequest('alice', 'app', 'killed-twice', pr.number, 'Twice'))).jobId;
      await pollUntil(
        async () => {
          const j = await c.job(jobId);
          return j.state === 'running' && j.attempts === round;
        },
        { timeoutMs: 20_000, what: `attempt ${round} running` },
      );
      await stopProcess(w.child, 'SIGKILL');
    }
    const third = await startWorkerProcess(env);
    children.push(third.child);
    const done = await new WorkerClient(third.url).waitFor(jobId, ['failed', 'succeeded', 'cancelled'], 20_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.error?.code, 'INTERRUPTED');
    assert.match(done.error?.message ?? '', /2 times/);
    assert.equal(done.attempts, 2, 'no third run');
    assert.equal(await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/killed-twice'), before, 'nothing pushed');
    await stopProcess(third.child);
  });

  it('SIGTERM drains: new jobs get 503, the running job finishes, queued jobs stay on disk and run after a restart', async function () {
    const state = await tempDir();
    const env = workerEnv(gh, botToken, state, { KIRO_WORKER_SLOTS: '1', FAKE_KIRO_STEP_MS: '500', KIRO_SHUTDOWN_GRACE_MS: '20000' });
    const w = await startWorkerProcess(env);
    children.push(w.child);
    const c = new WorkerClient(w.url);
    const [pa, pb, pc] = await Promise.all(['drain-a', 'drain-b', 'drain-c'].map((b) => makeTaskPr(gh, 'alice', 'app', b, b)));
    const a = await c.submit(jobRequest('alice', 'app', 'drain-a', pa?.number ?? 0, 'drain-a'));
    const b = await c.submit(jobRequest('alice', 'app', 'drain-b', pb?.number ?? 0, 'drain-b'));
    await c.waitFor(a.jobId, ['running']);
    const exited = new Promise<number | null>((r) => w.child.once('exit', (code) => r(code)));
    w.child.kill('SIGTERM');
    await pollUntil(async () => ((await (await c.request('GET', '/health')).json()) as { accepting: boolean }).accepting === false, {
      what: 'the service to start draining',
    });
    const refused = await c.request('POST', '/generate-code', jobRequest('alice', 'app', 'drain-c', pc?.number ?? 0, 'drain-c'));
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'));
    assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000))]), 0);
    const onDisk = (id: string) => JSON.parse(readFileSync(join(state, 'jobs', `${id}.json`), 'utf8')) as Job;
    assert.equal(onDisk(a.jobId).state, 'succeeded', 'the running job finished');
    assert.equal(onDisk(b.jobId).state, 'queued', 'the queued job is kept');
    assert.equal(readdirSync(join(state, 'jobs')).filter((f) => f.endsWith('.json')).length, 2, 'the refused job was never stored');

    const again = await startWorkerProcess(env);
    children.push(again.child);
    try {
      const done = await new WorkerClient(again.url).waitFor(b.jobId, ['succeeded', 'failed'], 30_000);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempts, 1);
    } finally {
      await stopProcess(again.child);
    }
  });

  it('refuses to start where agents cannot be confined, and says what to install', async function () {
    const state = await tempDir();
    // A PATH with git and the other tools but no bwrap.
    const bin = await tempDir();
    for (const tool of ['git', 'prlimit', 'du', 'sh'])
      symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), join(bin, tool));
    const child = spawn(process.execPath, ['dist/worker/server.mjs'], {
      cwd: repoRoot,
      env: { ...workerEnv(gh, botToken, state), PATH: bin, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 69);
    assert.match(err, /bubblewrap \(bwrap\) is not installed/);
    assert.match(err, /apt-get install bubblewrap/);
    assert.match(err, /KIRO_SANDBOX=off/);
  });

  it('KIRO_SANDBOX=off runs agents unconfined, and says so at start, in its log and in /health', async function () {
    const state = await tempDir();
    const w = await startWorkerProcess(workerEnv(gh, botToken, state, { KIRO_SANDBOX: 'off' }));
    children.push(w.child);
    try {
      assert.match(w.output(), /KIRO_SANDBOX=off: agents run unconfined/);
      const c = new WorkerClient(w.url);
      const h = (await (await c.request('GET', '/health')).json()) as { sandbox?: { enabled: boolean; warning: string | null } };
      assert.equal(h.sandbox?.enabled, false);
      assert.match(h.sandbox?.warning ?? '', /unconfined/);
      const pr = await makeTaskPr(gh, 'alice', 'app', 'unconfined-1', 'Unconfined');
      const job = await c.submit(jobRequest('alice', 'app', 'unconfined-1', pr.number, 'Unconfined'));
      assert.equal((await c.waitFor(job.jobId, ['succeeded', 'failed'])).state, 'succeeded');
    } finally {
      await stopProcess(w.child);
    }
  });
});
