// A fleet: a private redis-server and three real worker processes (the built service,
// its sandbox, the scripted agent) sharing one BullMQ queue, with the GitHub stand-in.
// Every wait is bounded; nothing sleeps a fixed time.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { JobStatus, PoolHealth } from '../../../shared/protocol.js';
import type { WorkerEvent } from '../../../shared/events.js';
import { readSse } from '../../../shared/sse.js';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import {
  jobRequest,
  makeTaskPr,
  startWorkerProcess,
  stopProcess,
  workerEnv,
  WorkerClient,
  type ChildWorker,
} from '../../support/worker.js';

interface Host {
  id: string;
  state: string;
  worker: ChildWorker;
  client: WorkerClient;
}

describe('a fleet of worker hosts on Redis (BullMQ)', function () {
  this.timeout(120_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  let redis: RedisServer;
  let redisDir: string;
  const hosts: Host[] = [];
  const children: ChildProcess[] = [];
  let seq = 0;

  const fleetEnv = (id: string, state: string, extra: Record<string, string> = {}) =>
    workerEnv(gh, bot.token, state, {
      KIRO_REDIS_URL: redis.url,
      KIRO_WORKER_ID: id,
      KIRO_WORKER_SLOTS: '2',
      // Short enough for the test to see a dead host's job move within seconds.
      KIRO_FLEET_HEARTBEAT_MS: '500',
      KIRO_FLEET_LOCK_MS: '4000',
      KIRO_FLEET_STALLED_CHECK_MS: '1000',
      KIRO_FLEET_BRANCH_LOCK_MS: '4000',
      FAKE_KIRO_STEP_MS: '150',
      ...extra,
    });

  async function startHost(id: string, state?: string, extra: Record<string, string> = {}): Promise<Host> {
    const dir = state ?? (await tempDir());
    const worker = await startWorkerProcess(fleetEnv(id, dir, extra), { keepChars: 200_000 });
    children.push(worker.child);
    const host = { id, state: dir, worker, client: new WorkerClient(worker.url) };
    const at = hosts.findIndex((h) => h.id === id);
    if (at >= 0) hosts[at] = host;
    else hosts.push(host);
    return host;
  }

  const health = async (h: Host) => (await (await h.client.request('GET', '/health')).json()) as PoolHealth;
  const liveHosts = async (h: Host) => ((await health(h)).hosts ?? []).map((x) => x.id).sort();

  /** A PR of its own for each job; `extra` goes into TASK.md (e.g. a scenario marker). */
  async function newJob(title: string, extra = '') {
    const branch = `fleet-${++seq}`;
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, title, extra);
    return { branch, req: jobRequest('alice', 'app', branch, pr.number, title) };
  }

  const agentCommits = async (branch: string) =>
    ((await gh.model.repo('alice', 'app')?.bare.log(`refs/heads/main..refs/heads/${branch}`)) ?? []).filter((c) =>
      c.subject.startsWith('feat: '),
    );

  const waitAll = (client: WorkerClient, ids: string[], timeoutMs = 60_000) =>
    pollUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => client.job(id)));
        return all.every((j) => ['succeeded', 'failed', 'cancelled', 'no-changes', 'timed-out'].includes(j.state)) ? all : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `jobs ${ids.join(', ')} to end` },
    );

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app');
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    redisDir = await tempDir();
    redis = await startRedis(redisDir);
    for (const id of ['host-a', 'host-b', 'host-c']) await startHost(id);
    const first = hosts[0];
    if (!first) throw new Error('no host');
    await pollUntil(async () => (await liveHosts(first)).length === 3, { timeoutMs: 15_000, what: 'three hosts in /health' });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (redis) await stopChild(redis.child, 3000);
    await gh?.close();
  });

  const host = (id: string): Host => {
    const h = hosts.find((x) => x.id === id);
    if (!h) throw new Error(`no host ${id}`);
    return h;
  };

  it('/health on any host describes the fleet: every host, every slot with its host, the total capacity', async function () {
    for (const h of hosts) {
      const hl = await health(h);
      assert.equal(hl.queue, 'redis');
      assert.deepEqual(
        hl.hosts?.map((x) => x.id),
        ['host-a', 'host-b', 'host-c'],
      );
      assert.equal(hl.capacity, 6);
      assert.equal(hl.slots.length, 6);
      assert.deepEqual([...new Set(hl.slots.map((s) => s.host))].sort(), ['host-a', 'host-b', 'host-c']);
      assert.ok(hl.hosts?.every((x) => x.slots === 2 && x.accepting && Date.now() - Date.parse(x.lastSeen) < 10_000));
    }
  });

  it('12 jobs sent to every host run across all three, in parallel, and each lands exactly one agent commit', async function () {
    const jobs = await Promise.all(Array.from({ length: 12 }, (_, i) => newJob(`Spread ${i}`)));
    const accepted = await Promise.all(jobs.map((j, i) => hosts[i % 3]!.client.submit(j.req)));
    const ids = accepted.map((a) => a?.jobId ?? '');
    assert.ok(accepted.every((a) => a?.status === 202));
    const done = await waitAll(host('host-b').client, ids);
    for (const j of done) assert.equal(j.state, 'succeeded', `${j.jobId}: ${JSON.stringify(j.error)}`);
    assert.deepEqual([...new Set(done.map((j) => j.host))].sort(), ['host-a', 'host-b', 'host-c'], 'every host ran some');
    // In parallel across hosts: two jobs on different hosts whose runs overlap.
    const overlap = done.some((a) =>
      done.some(
        (b) =>
          a.host !== b.host &&
          Date.parse(a.startedAt ?? '') < Date.parse(b.finishedAt ?? '') &&
          Date.parse(b.startedAt ?? '') < Date.parse(a.finishedAt ?? ''),
      ),
    );
    assert.ok(overlap, 'jobs on different hosts ran at the same time');
    for (const j of jobs) assert.equal((await agentCommits(j.branch)).length, 1, `one agent commit on ${j.branch}`);
  });

  it('the same idempotency key sent to two hosts at the same instant gives one job', async function () {
    const j = await newJob('Twice at once');
    const [one, two] = await Promise.all([host('host-a').client.submit(j.req), host('host-c').client.submit(j.req)]);
    assert.equal(one.jobId, two.jobId);
    assert.deepEqual([one.status, two.status].sort(), [200, 202], 'one created, one found');
    const done = await host('host-b').client.waitFor(one.jobId, ['succeeded', 'failed'], 30_000);
    assert.equal(done.state, 'succeeded');
    assert.equal((await agentCommits(j.branch)).length, 1);
    // The same key for another PR on that branch is a conflict on every host, not a second job.
    const res = await host('host-b').client.request('POST', '/generate-code', { ...j.req, prNumber: j.req.prNumber + 1000 });
    assert.equal(res.status, 409);
  });

  it('two jobs for one branch, sent to two hosts, never run at the same time', async function () {
    const j = await newJob('One branch');
    const first = await host('host-a').client.submit(j.req);
    const second = await host('host-b').client.submit({ ...j.req, idempotencyKey: `${j.req.idempotencyKey}-2` });
    assert.notEqual(first.jobId, second.jobId);
    const [a, b] = await waitAll(host('host-c').client, [first.jobId, second.jobId]);
    assert.ok(a && b);
    assert.equal(a.state, 'succeeded');
    assert.equal(b.state, 'succeeded');
    const [s1, f1, s2, f2] = [a.startedAt, a.finishedAt, b.startedAt, b.finishedAt].map((t) => Date.parse(t ?? ''));
    assert.ok(
      (f1 ?? 0) <= (s2 ?? 0) || (f2 ?? 0) <= (s1 ?? 0),
      `runs overlap: ${a.startedAt}–${a.finishedAt} and ${b.startedAt}–${b.finishedAt}`,
    );
    assert.equal((await agentCommits(j.branch)).length, 2, 'each round its own commit, one after the other');
  });

  it('cancel and the live log work through a host that does not run the job', async function () {
    const j = await newJob('Cancel me elsewhere', '\n[scenario: hang]');
    const accepted = await host('host-a').client.submit(j.req);
    const running = await host('host-a').client.waitFor(accepted.jobId, ['running'], 20_000);
    const other = hosts.find((h) => h.id !== running.host);
    assert.ok(running.host && other);
    // The log, read through the other host, is the agent's output, live.
    const ctl = new AbortController();
    const res = await other.client.request('GET', `/jobs/${accepted.jobId}/log`, undefined, {}, ctl.signal);
    assert.equal(res.status, 200);
    let text = '';
    const reading = (async () => {
      const reader = res.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) return;
        text += Buffer.from(chunk.value).toString();
      }
    })();
    await pollUntil(() => text.includes('fake-kiro'), {
      timeoutMs: 10_000,
      what: `the agent's output through ${other.id} (got ${JSON.stringify(text)})`,
    });
    const cancelled = (await (await other.client.request('POST', `/jobs/${accepted.jobId}/cancel`)).json()) as JobStatus;
    assert.equal(cancelled.state, 'cancelled', JSON.stringify(cancelled));
    await reading; // the log ends with the job
    assert.match(text, /job cancelled/);
    assert.equal((await agentCommits(j.branch)).length, 0);
    // A queued job cancelled through any host ends at once.
  });

  it('the live event stream works from any host: a job run elsewhere is followed to its end; an id from another host gets a snapshot', async function () {
    const j = await newJob('Watched from afar');
    const accepted = await host('host-a').client.submit(j.req);
    const watch = async (h: Host, lastEventId?: string) => {
      const ctl = new AbortController();
      const res = await h.client.request(
        'GET',
        `/events?jobs=${accepted.jobId}`,
        undefined,
        lastEventId ? { 'last-event-id': lastEventId } : {},
        ctl.signal,
      );
      assert.equal(res.status, 200);
      const seen: Array<{ id: string; data: WorkerEvent }> = [];
      const reading = (async () => {
        try {
          for await (const e of readSse(res.body as AsyncIterable<Uint8Array>))
            seen.push({ id: e.id, data: JSON.parse(e.data) as WorkerEvent });
        } catch {
          /* aborted */
        }
      })();
      return {
        seen,
        stop: async () => {
          ctl.abort();
          await reading;
        },
      };
    };
    const onC = await watch(host('host-c'));
    const states = () => onC.seen.flatMap((e) => (e.data.type === 'job' ? [e.data.job.state] : []));
    await pollUntil(() => states().includes('succeeded'), {
      timeoutMs: 30_000,
      what: `the job's end through host-c (states: ${states().join(',')})`,
    });
    assert.ok(states().includes('running') || states().includes('pushing'), `live states, not only the end: ${states().join(',')}`);
    const ran = (await host('host-c').client.job(accepted.jobId)).host;
    assert.ok(
      onC.seen.some((e) => e.data.type === 'slots' && e.data.pool.hosts?.length === 3),
      'slot events describe the fleet',
    );
    const lastId = onC.seen.at(-1)?.id ?? '';
    await onC.stop();
    // A load balancer may send the reconnect to another host: its ids are not this one's, so it starts from a snapshot.
    const other = hosts.find((h) => h.id !== 'host-c') ?? host('host-a');
    const onOther = await watch(other, lastId);
    await pollUntil(() => onOther.seen.length >= 2, { timeoutMs: 10_000, what: 'a snapshot' });
    await onOther.stop();
    const first = onOther.seen[0]?.data;
    assert.ok(first?.type === 'job' && first.job.state === 'succeeded' && first.job.host === ran, JSON.stringify(first));
    assert.equal(onOther.seen[1]?.data.type, 'slots');
  });

  it('kill -9 of a host mid-job: another host takes its jobs up, every job lands exactly once, and /health drops it', async function () {
    const jobs = await Promise.all(Array.from({ length: 6 }, (_, i) => newJob(`Survive ${i}`)));
    // Long enough for the kill to land mid-run.
    const ids = (await Promise.all(jobs.map((j, i) => hosts[i % 3]!.client.submit(j.req)))).map((a) => a?.jobId ?? '');
    const victim = await pollUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => host('host-a').client.job(id)));
        return all.find((j) => j.state === 'running' && j.host === 'host-c');
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'a job running on host-c' },
    );
    const killedAt = Date.now();
    await stopProcess(host('host-c').worker.child, 'SIGKILL');
    const moved = await pollUntil(
      async () => {
        const j = await host('host-a').client.job(victim.jobId);
        return j.host !== 'host-c' && ['preparing', 'running', 'pushing', 'succeeded'].includes(j.state) ? j : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `job ${victim.jobId} to move off host-c` },
    );
    const recoveryMs = Date.now() - killedAt;
    assert.ok(recoveryMs < 15_000, `taken up after ${recoveryMs} ms`);
    assert.ok(moved.attempts >= 2, 'its second run');
    const done = await waitAll(host('host-b').client, ids);
    for (const j of done) assert.equal(j.state, 'succeeded', `${j.jobId}: ${JSON.stringify(j.error)}`);
    for (const j of jobs) assert.equal((await agentCommits(j.branch)).length, 1, `exactly one agent commit on ${j.branch}`);
    await pollUntil(async () => (await liveHosts(host('host-a'))).join() === 'host-a,host-b', {
      timeoutMs: 30_000,
      what: '/health to drop host-c',
    });
    await startHost('host-c', host('host-c').state);
    await pollUntil(async () => (await liveHosts(host('host-a'))).length === 3, { timeoutMs: 15_000, what: 'host-c back' });
  });

  it('a job whose host is killed twice (two hosts in turn) fails with INTERRUPTED, as on one host: no third run, nothing pushed', async function () {
    const j = await newJob('Killed twice', '\n[scenario: hang]');
    const before = await gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${j.branch}`);
    const accepted = await host('host-a').client.submit(j.req);
    const killed: Host[] = [];
    for (const attempt of [1, 2]) {
      const observer = () => hosts.find((h) => !killed.includes(h)) ?? host('host-a');
      const running = await pollUntil(
        async () => {
          const s = await observer().client.job(accepted.jobId);
          return s.state === 'running' && s.attempts === attempt ? s : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `attempt ${attempt} of the job running` },
      );
      const holder = host(running.host ?? '');
      killed.push(holder);
      await stopProcess(holder.worker.child, 'SIGKILL');
    }
    const survivor = hosts.find((h) => !killed.includes(h)) ?? host('host-a');
    const done = await survivor.client.waitFor(accepted.jobId, ['failed', 'succeeded', 'cancelled'], 30_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.error?.code, 'INTERRUPTED', JSON.stringify(done.error));
    assert.equal(done.attempts, 2, 'no third run');
    assert.equal(await gh.model.repo('alice', 'app')?.bare.resolve(`refs/heads/${j.branch}`), before, 'nothing pushed');
    for (const h of killed) await startHost(h.id, h.state);
    await pollUntil(async () => (await liveHosts(survivor)).length === 3, { timeoutMs: 15_000, what: 'the killed hosts back' });
  });

  it('a host frozen past its lock (SIGSTOP) and then resumed: another host runs the job, the frozen one pushes nothing and writes nothing over it', async function () {
    const j = await newJob('Frozen host');
    const accepted = await host('host-a').client.submit(j.req);
    const running = await pollUntil(
      async () => {
        const s = await host('host-a').client.job(accepted.jobId);
        return s.state === 'running' ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'the job to run' },
    );
    const frozen = host(running.host ?? '');
    const observer = hosts.find((h) => h !== frozen) ?? host('host-a');
    frozen.worker.child.kill('SIGSTOP');
    try {
      await pollUntil(
        async () => {
          const s = await observer.client.job(accepted.jobId);
          return s.host !== frozen.id && s.attempts >= 2 && s.state !== 'queued' ? s : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'another host to take the job up' },
      );
    } finally {
      frozen.worker.child.kill('SIGCONT');
    }
    const done = await observer.client.waitFor(accepted.jobId, ['succeeded', 'failed', 'no-changes'], 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    assert.notEqual(done.host, frozen.id, 'the record is the run that took over');
    // The resumed host stops its run, and it says why.
    await pollUntil(() => /lost the lock of a running job|not pushing: the job's lock/.test(frozen.worker.output()), {
      timeoutMs: 15_000,
      what: `${frozen.id} to give the job up`,
    });
    assert.equal((await agentCommits(j.branch)).length, 1, 'one agent commit');
    const after = await observer.client.job(accepted.jobId);
    assert.equal(after.state, 'succeeded');
    assert.equal(after.host, done.host, 'nothing written over it by the resumed host');
  });

  it('SIGTERM drains one host (its running job finishes) while the others keep serving', async function () {
    const drained = host('host-b');
    const j = await newJob('Drain', '\n[scenario: change]');
    const accepted = await drained.client.submit(j.req);
    const running = await pollUntil(
      async () => {
        const s = await drained.client.job(accepted.jobId);
        return s.state === 'running' ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'the job to run' },
    );
    const holder = host(running.host ?? '');
    const exit = stopProcess(holder.worker.child, 'SIGTERM');
    const another = await newJob('Served meanwhile');
    const servedBy = hosts.find((h) => h.id !== holder.id) ?? host('host-a');
    const next = await servedBy.client.submit(another.req);
    assert.equal(await exit, 0, 'a clean exit after draining');
    const done = await waitAll(servedBy.client, [accepted.jobId, next.jobId]);
    for (const d of done) assert.equal(d.state, 'succeeded', JSON.stringify(d.error));
    assert.equal(done[0]?.host, holder.id, 'the drained host finished its own job');
    assert.notEqual(done[1]?.host, holder.id);
    await startHost(holder.id, holder.state);
    await pollUntil(async () => (await liveHosts(host('host-a'))).length === 3, { timeoutMs: 15_000, what: `${holder.id} back` });
  });

  it('Redis stopped: 503 with Retry-After, running jobs finish; Redis back: hosts reconnect and queued jobs run', async function () {
    // Every slot busy with a job that waits, and more queued behind them.
    const held = await Promise.all(Array.from({ length: 9 }, (_, i) => newJob(`Outage ${i}`)));
    const a = host('host-a');
    const ids = (await Promise.all(held.map((j) => a.client.submit(j.req)))).map((x) => x.jobId);
    await pollUntil(async () => (await Promise.all(ids.map((id) => a.client.job(id)))).some((s) => s.state === 'running'), {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: 'a job running',
    });
    await stopChild(redis.child, 5000);
    const extra = await newJob('During outage');
    const res = await a.client.request('POST', '/generate-code', extra.req);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(((await res.json()) as { code: string }).code, 'QUEUE_UNAVAILABLE');
    // Same port, same folder (append-only file): what was queued is still there.
    redis = await startRedis(redisDir, redis.port);
    const done = await waitAll(host('host-c').client, ids, 90_000);
    for (const d of done) assert.equal(d.state, 'succeeded', `${d.jobId}: ${JSON.stringify(d.error)}`);
    for (const j of held) assert.equal((await agentCommits(j.branch)).length, 1, `exactly one agent commit on ${j.branch}`);
    assert.equal((await a.client.submit(extra.req)).status, 202, 'accepting again');
  });
});
