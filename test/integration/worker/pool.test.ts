// The worker's pool end to end: real HTTP, real node-pty, real git through the
// GitHub stand-in's git http-backend, and the scripted agent.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { descendants } from '../../../worker-service/sandbox/processTree.js';

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};
import { startWorker, workerEnv, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../../support/worker.js';
import type { Job } from '../../../worker-service/jobs/job.js';

describe('worker pool', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  let branchSeq = 0;
  const nextBranch = (what: string) => `${what}-${Date.now()}-${branchSeq++}`;

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  });
  after(async () => gh.close());

  async function withWorker(
    extra: Record<string, string>,
    fn: (w: TestWorker, c: WorkerClient, comments: Job[]) => Promise<void>,
  ): Promise<void> {
    const comments: Job[] = [];
    const w = await startWorker(workerEnv(gh, bot.token, await tempDir(), extra), {
      commenter: async (job) => void comments.push(structuredClone(job)),
      // The agent sees the FAKE_KIRO_* knobs because the worker's allow-list names them.
      agentEnv: { FAKE_KIRO_STEP_MS: '10', ...Object.fromEntries(Object.entries(extra).filter(([k]) => k.startsWith('FAKE_KIRO_'))) },
    });
    try {
      await fn(w, new WorkerClient(w.url), comments);
    } finally {
      await w.close();
    }
  }

  it('runs two simultaneous jobs in parallel on two slots; both branches get their commit; a third waits and runs', async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '300' }, async (w, c) => {
      const branches = [nextBranch('par-a'), nextBranch('par-b'), nextBranch('par-c')];
      const prs = await Promise.all(branches.map((b, i) => makeTaskPr(gh, 'alice', 'app', b, `Parallel ${i}`)));
      const started: { id: string; at: number }[] = [];
      w.queue.on('agent-started', (job, at) => started.push({ id: job.id, at }));
      const [a, b] = await Promise.all(
        [0, 1].map((i) => c.submit(jobRequest('alice', 'app', branches[i] ?? '', prs[i]?.number ?? 0, `Parallel ${i}`))),
      );
      assert.ok(a && b);
      const third = await c.submit(jobRequest('alice', 'app', branches[2] ?? '', prs[2]?.number ?? 0, 'Parallel 2'));
      assert.equal(third.state, 'queued');
      assert.equal((await c.job(third.jobId)).state, 'queued');
      const health = await pollUntil(
        async () => {
          const h = (await (await c.request('GET', '/health')).json()) as { running: number; queued: number; slots: { state: string }[] };
          return h.running === 2 ? h : undefined;
        },
        { what: 'both slots busy' },
      );
      assert.deepEqual(
        health.slots.map((s) => s.state),
        ['busy', 'busy'],
      );
      assert.equal(health.queued, 1);
      const done = await Promise.all([a.jobId, b.jobId, third.jobId].map((id) => c.waitFor(id, ['succeeded', 'failed', 'no-changes'])));
      assert.deepEqual(
        done.map((j) => j.state),
        ['succeeded', 'succeeded', 'succeeded'],
        JSON.stringify(done.map((d) => d.error)),
      );
      // The first two really overlapped; the third started only after one of them ended.
      const [s0, s1, s2] = [a.jobId, b.jobId, third.jobId].map((id) => started.find((s) => s.id === id)?.at ?? 0);
      assert.ok(Math.abs((s0 ?? 0) - (s1 ?? 0)) < 600, 'the first two jobs started together');
      assert.ok(
        (s2 ?? 0) > Math.min(Date.parse(done[0]?.finishedAt ?? ''), Date.parse(done[1]?.finishedAt ?? '')) - 50,
        'the third started after a slot freed',
      );
      assert.notEqual(done[0]?.slotId, done[1]?.slotId);
      const repo = gh.model.repo('alice', 'app');
      for (const [i, branch] of branches.entries()) {
        const [head] = (await repo?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? [];
        assert.equal(head?.subject, `feat: Parallel ${i}`);
        assert.equal(head?.author, 'Kiro Agent');
        assert.equal(head?.oid, done[i]?.commitSha);
        assert.match((await repo?.bare.readFile(`refs/heads/${branch}`, 'kiro/IMPLEMENTATION.md')) ?? '', new RegExp(`Parallel ${i}`));
      }
      assert.equal(await repo?.bare.readFile('refs/heads/main', 'kiro/IMPLEMENTATION.md'), null, 'the base branch is never touched');
    });
  });

  it('never runs two jobs for one branch at once: a follow-up waits for the round before it and starts from its result, while other branches go ahead', async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '250' }, async (w, c) => {
      const b = nextBranch('rounds');
      const other = nextBranch('other');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Rounds');
      const pr2 = await makeTaskPr(gh, 'alice', 'app', other, 'Other');
      const spans = new Map<string, { start: number; end: number }>();
      w.queue.on('agent-started', (job, at) => spans.set(job.id, { start: at, end: Number.NaN }));
      w.queue.on('agent-exited', (job, at) => {
        const s2 = spans.get(job.id);
        if (s2) s2.end = at;
      });
      const round1 = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Rounds', `R1-${b}`));
      const round2 = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Rounds', `R2-${b}`));
      const elsewhere = await c.submit(jobRequest('alice', 'app', other, pr2.number, 'Other'));
      const done = await Promise.all(
        [round1, round2, elsewhere].map((j) => c.waitFor(j.jobId, ['succeeded', 'failed', 'no-changes'], 30_000)),
      );
      assert.deepEqual(
        done.map((d) => d.state),
        ['succeeded', 'succeeded', 'succeeded'],
        JSON.stringify(done.map((d) => d.error)),
      );
      const [s1, s2, s3] = [round1, round2, elsewhere].map((j) => spans.get(j.jobId) ?? { start: NaN, end: NaN });
      assert.ok((s2?.start ?? 0) >= (s1?.end ?? Infinity), 'round 2 started only after round 1 ended');
      assert.ok((s3?.start ?? Infinity) < (s1?.end ?? 0), 'the other branch did not wait behind them');
      // Round 2 worked on round 1's result: its commit sits right on top of round 1's.
      const log = (await gh.model.repo('alice', 'app')?.bare.log(`refs/heads/main..refs/heads/${b}`)) ?? [];
      assert.deepEqual(log.map((l) => l.oid).slice(0, 2), [done[1]?.commitSha, done[0]?.commitSha]);
      assert.equal(log.length, 3, 'TASK.md and one commit per round, no rebase');
    });
  });

  it('answers 503 with Retry-After only when the bounded queue is full', async function () {
    await withWorker({ KIRO_WORKER_SLOTS: '1', KIRO_WORKER_QUEUE_LIMIT: '1', FAKE_KIRO_SCENARIO: 'hang' }, async (w, c) => {
      const bs = [nextBranch('q1'), nextBranch('q2'), nextBranch('q3')];
      const prs = await Promise.all(bs.map((b) => makeTaskPr(gh, 'alice', 'app', b, 'Queue', '\n[scenario: hang]')));
      const first = await c.submit(jobRequest('alice', 'app', bs[0] ?? '', prs[0]?.number ?? 0, 'Queue'));
      await c.waitFor(first.jobId, ['running']);
      const second = await c.submit(jobRequest('alice', 'app', bs[1] ?? '', prs[1]?.number ?? 0, 'Queue'));
      assert.equal(second.state, 'queued');
      const res = await c.request('POST', '/generate-code', jobRequest('alice', 'app', bs[2] ?? '', prs[2]?.number ?? 0, 'Queue'));
      assert.equal(res.status, 503);
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(((await res.json()) as { code: string }).code, 'QUEUE_FULL');
      await c.request('POST', `/jobs/${second.jobId}/cancel`);
      assert.equal((await c.job(second.jobId)).state, 'cancelled');
      const agentPid = w.queue.jobs.get(first.jobId)?.agentPid ?? 0;
      // The running agent's sandbox: bwrap, its init and the agent, once the agent runs inside.
      const sandbox = await pollUntil(
        () => {
          const all = [agentPid, ...descendants(agentPid)];
          return all.some((p) => cmdline(p).includes('fake-kiro')) ? all : undefined;
        },
        { what: 'the agent running inside its sandbox' },
      );
      await c.request('POST', `/jobs/${first.jobId}/cancel`);
      const cancelled = await c.waitFor(first.jobId, ['cancelled']);
      assert.equal(cancelled.error?.code, 'CANCELLED');
      assert.deepEqual(
        sandbox.filter((p) => cmdline(p) !== ''),
        [],
        'the whole sandbox is gone with the cancelled job',
      );
      await pollUntil(() => w.queue.slots[0]?.state === 'idle', { what: 'slot idle after cancel' });
    });
  });

  it('times out a hanging agent, stops its whole process tree (TERM, then KILL) and frees the slot', async function () {
    await withWorker({ KIRO_WORKER_SLOTS: '1', KIRO_JOB_TIMEOUT_MS: '1500', KIRO_KILL_GRACE_MS: '300' }, async (w, c, comments) => {
      const b = nextBranch('hang');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Hang', '\n[scenario: grandchild]');
      const t0 = Date.now();
      const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Hang'));
      // The helper as the host sees it: a descendant of the agent's sandbox.
      const agentPid = await pollUntil(() => w.queue.jobs.get(job.jobId)?.agentPid ?? undefined, { what: 'the agent pid' });
      const helper = await pollUntil(() => descendants(agentPid).find((p) => cmdline(p).includes('setInterval')), {
        what: "the agent's helper process",
      });
      const done = await c.waitFor(job.jobId, ['timed-out', 'failed', 'succeeded']);
      assert.equal(done.state, 'timed-out');
      assert.ok(Date.now() - t0 >= 1500);
      assert.equal(done.error?.code, 'TIMED_OUT');
      await pollUntil(
        () => {
          try {
            process.kill(helper, 0);
            return false;
          } catch {
            return true;
          }
        },
        { what: "the agent's helper process to be gone" },
      );
      await pollUntil(() => w.queue.slots[0]?.state === 'idle', { what: 'the slot to be idle again (its checkout settled)' });
      await pollUntil(() => comments.find((j) => j.id === job.jobId), { what: 'a PR comment about the timeout' });
    });
  }).timeout(30_000);

  it('escalates to SIGKILL when the agent ignores SIGTERM', async function () {
    await withWorker(
      { KIRO_WORKER_SLOTS: '1', KIRO_JOB_TIMEOUT_MS: '1000', KIRO_KILL_GRACE_MS: '500', FAKE_KIRO_SCENARIO: 'ignore-term' },
      async (_w, c) => {
        const b = nextBranch('deaf');
        const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Deaf');
        const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Deaf'));
        const done = await c.waitFor(job.jobId, ['timed-out', 'failed']);
        assert.equal(done.state, 'timed-out');
        assert.equal(done.signal, '9');
        assert.ok(done.outputTail.some((l) => l.includes('ignoring SIGTERM')));
      },
    );
  });

  it('restarts a crashed slot after 5 s', async function () {
    await withWorker({ KIRO_WORKER_SLOTS: '1', FAKE_KIRO_SCENARIO: 'crash' }, async (w, c) => {
      const b = nextBranch('crash');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Crash');
      const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Crash'));
      const done = await c.waitFor(job.jobId, ['failed', 'succeeded']);
      assert.equal(done.error?.code, 'AGENT_CRASHED');
      const slot = w.queue.slots[0];
      // The job's record is saved a moment before the slot changes state.
      await pollUntil(() => slot?.state === 'restarting', { timeoutMs: 2_000, what: 'slot restarting' });
      const since = slot?.since ?? 0;
      await pollUntil(() => slot?.state === 'idle', { timeoutMs: 10_000, what: 'slot idle again' });
      const waited = Date.now() - since;
      assert.ok(waited >= 4_900 && waited < 7_000, `restart took ${waited} ms`);
    });
  }).timeout(30_000);

  it('marks no-changes and failures, with the reason, and comments on the PR', async function () {
    await withWorker({}, async (_w, c, comments) => {
      const b1 = nextBranch('noop');
      const b2 = nextBranch('fail');
      const p1 = await makeTaskPr(gh, 'alice', 'app', b1, 'Noop', '\n[scenario: no-change]');
      const p2 = await makeTaskPr(gh, 'alice', 'app', b2, 'Fail', '\n[scenario: fail]');
      const j1 = await c.submit(jobRequest('alice', 'app', b1, p1.number, 'Noop'));
      const j2 = await c.submit(jobRequest('alice', 'app', b2, p2.number, 'Fail'));
      const d1 = await c.waitFor(j1.jobId, ['no-changes', 'failed', 'succeeded']);
      const d2 = await c.waitFor(j2.jobId, ['no-changes', 'failed', 'succeeded']);
      assert.equal(d1.state, 'no-changes');
      assert.equal(d2.state, 'failed');
      assert.equal(d2.exitCode, 3);
      assert.equal(d2.error?.code, 'AGENT_FAILED');
      assert.ok(d2.outputTail.some((l) => l.includes('the model refused the task')));
      await pollUntil(() => comments.length >= 2, { what: 'two comments' });
      assert.deepEqual(comments.map((j) => j.state).sort(), ['failed', 'no-changes']);
      assert.equal(
        gh.model.repo('alice', 'app')?.bare ? await gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${b1}`) : null,
        p1.taskSha,
        'no-changes leaves the branch alone',
      );
    });
  });

  it('rebases and pushes once more when the branch moved while the agent worked', async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '400' }, async (_w, c) => {
      const b = nextBranch('moved');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Moved');
      const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Moved'));
      await c.waitFor(job.jobId, ['running']);
      const repo = gh.model.repo('alice', 'app');
      const head = await repo?.bare.resolve(`refs/heads/${b}`);
      const human = await repo?.bare.commit({
        parent: head ?? null,
        additions: [{ path: 'HUMAN.md', contents: 'a human pushed\n' }],
        message: 'human edit',
        author: { name: 'alice', email: 'a@e' },
      });
      assert.ok(human && (await repo?.bare.updateRef(`refs/heads/${b}`, human, head ?? '')));
      const done = await c.waitFor(job.jobId, ['succeeded', 'failed']);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      const log = (await repo?.bare.log(`refs/heads/main..refs/heads/${b}`)) ?? [];
      assert.deepEqual(
        log.map((l) => l.subject),
        ['feat: Moved', 'human edit', 'task: Moved'],
      );
      assert.equal(await repo?.bare.readFile(`refs/heads/${b}`, 'HUMAN.md'), 'a human pushed\n');
    });
  });

  it("streams the agent's output: replay from the start, then live until the job ends", async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '200' }, async (_w, c) => {
      const b = nextBranch('log');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Log');
      const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Log'));
      // Connected before the agent starts: the stream waits for it, then replays and follows.
      const res = await c.request('GET', `/jobs/${job.jobId}/log`);
      const text = await res.text(); // ends only when the job does
      assert.match(text, /fake-kiro/);
      assert.match(text, /Reading TASK\.md[\s\S]*Wrote kiro\/IMPLEMENTATION\.md[\s\S]*Done\./);
      assert.equal((await c.job(job.jobId)).state, 'succeeded');
      const again = await (await c.request('GET', `/jobs/${job.jobId}/log`)).text();
      assert.ok(again.startsWith(text.slice(0, 40)), 'a finished job replays the same log');
    });
  });

  it('resumes the log at a byte offset: a reader that drops mid-job and comes back loses nothing and repeats nothing', async function () {
    await withWorker({ FAKE_KIRO_STEP_MS: '150' }, async (_w, c) => {
      const b = nextBranch('resume');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Resume');
      const job = await c.submit(jobRequest('alice', 'app', b, pr.number, 'Resume'));
      // Read the live stream until the agent has said something, then drop the connection.
      const ctl = new AbortController();
      const res = await c.request('GET', `/jobs/${job.jobId}/log`, undefined, {}, ctl.signal);
      const reader = res.body?.getReader();
      assert.ok(reader);
      const got: Uint8Array[] = [];
      let text = '';
      while (!/Reading TASK\.md/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        got.push(value);
        text = Buffer.concat(got).toString('utf8');
      }
      ctl.abort();
      const first = Buffer.concat(got);
      assert.equal((await c.job(job.jobId)).state === 'succeeded', false, 'dropped while the job still ran');
      const rest = await c.request('GET', `/jobs/${job.jobId}/log?offset=${first.length}`);
      assert.equal(rest.headers.get('x-log-offset'), String(first.length));
      const second = Buffer.from(await rest.arrayBuffer()); // ends when the job does
      const whole = Buffer.from(await (await c.request('GET', `/jobs/${job.jobId}/log`)).arrayBuffer());
      assert.ok(whole.length > first.length);
      assert.deepEqual(Buffer.concat([first, second]), whole, 'the two halves are exactly the whole log');
      const tail = Buffer.from(await (await c.request('GET', `/jobs/${job.jobId}/log?offset=${whole.length - 10}`)).arrayBuffer());
      assert.deepEqual(tail, whole.subarray(whole.length - 10), 'a finished job resumes too');
      assert.equal((await c.request('GET', `/jobs/${job.jobId}/log?offset=${whole.length + 5}`)).status, 200);
      assert.equal((await c.request('GET', `/jobs/${job.jobId}/log?offset=-1`)).status, 400);
    });
  });

  it("keeps the service's secrets away from the agent, its argv and the checkout", async function () {
    await withWorker({ FAKE_KIRO_RECORD: '-' }, async (w, c) => {
      const b = nextBranch('secrets');
      const pr = await makeTaskPr(gh, 'alice', 'app', b, 'Secrets');
      const req = jobRequest('alice', 'app', b, pr.number, 'Secrets');
      const job = await c.submit(req);
      await c.waitFor(job.jobId, ['succeeded', 'failed']);
      const log = readFileSync(join(w.config.stateDir, 'logs', `${job.jobId}.log`), 'utf8');
      const seen = JSON.parse(Buffer.from(/^FAKE_KIRO_RECORD (\S+)\r?$/m.exec(log)?.[1] ?? '', 'base64').toString('utf8')) as {
        argv: string[];
        env: Record<string, string>;
        cwd: string;
      };
      // Exactly the environment the README lists (the service's own has no USER, LOGNAME, SHELL, LANG, LC_ALL or TZ here).
      assert.deepEqual(Object.keys(seen.env).sort(), [
        'CI',
        'COLORTERM',
        'FAKE_KIRO_RECORD',
        'FAKE_KIRO_STEP_MS',
        'HOME',
        'KIRO_DELEGATE',
        'PATH',
        'PWD',
        'TERM',
        'TMPDIR',
      ]);
      assert.equal(seen.env.HOME, '/home/agent');
      assert.equal(seen.env.TMPDIR, '/tmp');
      assert.equal(
        seen.env.PATH?.split(':').some((d) => d.includes('node_modules')),
        false,
        "the service's node_modules/.bin is not on the agent's PATH",
      );
      // Tokens the service holds; the agent's environment is built from an env that has them all.
      const secrets = [bot.token, w.config.token ?? ''];
      const blob = JSON.stringify(seen);
      for (const s of secrets) assert.equal(blob.includes(s), false, 'a secret reached the agent');
      assert.equal(
        Object.keys(seen.env).some((k) => k.startsWith('GIT_CONFIG') || k.startsWith('KIRO_WORKER') || k === 'KIRO_GITHUB_TOKEN'),
        false,
      );
      assert.equal(seen.argv.length, 4, 'the prompt is one argument');
      const gitConfig = readFileSync(join(w.config.stateDir, 'repos', 'alice', 'app.git', 'config'), 'utf8');
      assert.equal(gitConfig.includes(bot.token), false);
      assert.doesNotMatch(gitConfig, /extraheader/i);
      const wtConfig = readFileSync(join(seen.cwd, '.git'), 'utf8');
      assert.equal(wtConfig.includes(bot.token), false);
      // Nor in the job's log, its status, or its stored record.
      const stored =
        readFileSync(join(w.config.stateDir, 'jobs', `${job.jobId}.json`), 'utf8') +
        readFileSync(join(w.config.stateDir, 'logs', `${job.jobId}.log`), 'utf8');
      for (const s of secrets) assert.equal(stored.includes(s), false, 'a secret reached a log or a record');
    });
  });

  it('health monitor: stops an agent silent for too long and recycles warm checkouts of idle slots', async function () {
    await withWorker(
      {
        KIRO_WORKER_SLOTS: '1',
        KIRO_HEALTH_INTERVAL_MS: '200',
        KIRO_AGENT_SILENCE_MS: '1000',
        KIRO_SLOT_IDLE_RECYCLE_MS: '1500',
        KIRO_KILL_GRACE_MS: '200',
      },
      async (w, c) => {
        const b1 = nextBranch('silent');
        const p1 = await makeTaskPr(gh, 'alice', 'app', b1, 'Silent', '\n[scenario: hang]');
        const j1 = await c.submit(jobRequest('alice', 'app', b1, p1.number, 'Silent'));
        const d1 = await c.waitFor(j1.jobId, ['failed', 'timed-out', 'succeeded']);
        assert.equal(d1.error?.code, 'AGENT_SILENT');
        const warmDir = join(w.config.stateDir, 'work', 'slot-0', 'alice__app');
        assert.ok(existsSync(warmDir), 'the slot keeps its checkout warm after a job');
        await pollUntil(() => !existsSync(warmDir), { timeoutMs: 10_000, what: 'the idle warm checkout to be recycled' });
        // A recycled slot still works: the next job gets a fresh worktree.
        const b2 = nextBranch('after-recycle');
        const p2 = await makeTaskPr(gh, 'alice', 'app', b2, 'After');
        const j2 = await c.submit(jobRequest('alice', 'app', b2, p2.number, 'After'));
        assert.equal((await c.waitFor(j2.jobId, ['succeeded', 'failed'])).state, 'succeeded');
      },
    );
  });
});
