// GET /events against a real listening worker: real jobs (the GitHub stand-in, the
// scripted agent in its sandbox), read as Server-Sent Events with shared/sse.ts.
import assert from 'node:assert/strict';
import { get as httpGet, type ClientRequest, type IncomingMessage } from 'node:http';
import { Value } from 'typebox/value';
import { type JobState, type JobStatus, type PoolSlots } from '../../../shared/protocol.js';
import { WorkerEventSchema, type WorkerEvent } from '../../../shared/events.js';
import { readSse } from '../../../shared/sse.js';
import { buildApp } from '../../../worker-service/app.js';
import { loadConfig } from '../../../worker-service/config.js';
import { EventFeed } from '../../../worker-service/routes/events.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { embeddedQueueOf, jobRequest, makeTaskPr, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

interface Received {
  id: number;
  event: string;
  data: WorkerEvent;
}

/**
 * One GET /events connection, read in the background into `events` and `comments`.
 * Over node:http with a socket of its own: a long-lived stream in fetch's shared
 * connection pool leaves it opening sockets that it never uses, which keep app.close() waiting.
 */
class EventStream {
  readonly events: Received[] = [];
  readonly comments: string[] = [];
  ended = false;
  error: unknown = null;
  private closing = false;
  private constructor(
    private readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {}

  static open(c: WorkerClient, query = '', lastEventId?: string): Promise<EventStream> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    return new Promise((resolve, reject) => {
      const req = httpGet(`${c.url}/events${query}`, { agent: false, headers }, (res) => {
        const s = new EventStream(req, res);
        if (res.statusCode === 200) void s.read(res);
        else s.ended = true;
        resolve(s);
      });
      req.on('error', reject);
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  async json(): Promise<unknown> {
    let text = '';
    for await (const chunk of this.res) text += String(chunk);
    return JSON.parse(text);
  }

  private async read(body: AsyncIterable<Uint8Array>): Promise<void> {
    try {
      for await (const e of readSse(body, { onComment: (text) => this.comments.push(text) })) {
        const data = JSON.parse(e.data) as unknown;
        assert.ok(Value.Check(WorkerEventSchema, data), `event matches WorkerEventSchema: ${e.data.slice(0, 300)}`);
        assert.equal(e.event, data.type, 'the SSE event name is the payload type');
        assert.match(e.id, /^\d+$/, 'every event has a numeric id');
        this.events.push({ id: Number(e.id), event: e.event, data });
      }
    } catch (e) {
      if (!this.closing) this.error = e;
    } finally {
      this.ended = true;
    }
  }

  jobs(jobId?: string): JobStatus[] {
    return this.events.flatMap((e) => (e.data.type === 'job' && (!jobId || e.data.job.jobId === jobId) ? [e.data.job] : []));
  }

  slots(): PoolSlots[] {
    return this.events.flatMap((e) => (e.data.type === 'slots' ? [e.data.pool] : []));
  }

  get lastId(): number {
    return this.events.at(-1)?.id ?? 0;
  }

  until<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return pollUntil(
      () => {
        if (this.error) throw this.error instanceof Error ? this.error : new Error(JSON.stringify(this.error));
        return check();
      },
      {
        timeoutMs,
        what: `${what} (events so far: ${this.events.map((e) => (e.data.type === 'job' ? `${e.id}:${e.data.job.state}` : `${e.id}:slots`)).join(' ')})`,
      },
    );
  }

  close(): void {
    this.closing = true;
    this.req.destroy();
  }
}

const FINAL: JobState[] = ['succeeded', 'no-changes', 'failed', 'timed-out', 'cancelled'];
const LIFE: JobState[] = ['queued', 'preparing', 'running', 'pushing', 'succeeded'];

function assertIncreasing(s: EventStream): void {
  for (let i = 1; i < s.events.length; i++)
    assert.ok((s.events[i]?.id ?? 0) > (s.events[i - 1]?.id ?? 0), `ids increase: ${s.events.map((e) => e.id).join(',')}`);
}

describe('worker events (GET /events)', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let botToken: string;
  let w: TestWorker;
  let c: WorkerClient;
  let closed = false;
  const streams: EventStream[] = [];
  const open = async (query = '', lastEventId?: string) => {
    const s = await EventStream.open(c, query, lastEventId);
    streams.push(s);
    return s;
  };
  let seq = 0;
  const submit = async (what: string, scenario = '') => {
    const branch = `${what.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${Date.now()}-${seq++}`;
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, what, scenario ? `\n[scenario: ${scenario}]` : '');
    return (await c.submit(jobRequest('alice', 'app', branch, pr.number, what))).jobId;
  };
  const idle = () => pollUntil(() => w.queue.slots.every((s) => s.state === 'idle'), { timeoutMs: 30_000, what: 'every slot idle' });

  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
    // As startWorker does, plus a short heartbeat; the agent takes ~0.5 s so that each state is seen.
    const env = workerEnv(gh, botToken, await tempDir());
    const config = loadConfig(env);
    const app = await buildApp(config, {
      logger: false,
      commenter: async () => undefined,
      events: { heartbeatMs: 200 },
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, FAKE_KIRO_STEP_MS: '100' },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no port');
    w = {
      app,
      url: `http://127.0.0.1:${addr.port}`,
      config,
      get queue() {
        return embeddedQueueOf(app);
      },
      close: () => app.close(),
    };
    c = new WorkerClient(w.url);
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  after(async () => {
    if (!closed) await w.close();
    await gh.close();
  });

  it('needs the token like every other route', async function () {
    const anon = await EventStream.open(new WorkerClient(w.url, null));
    assert.equal(anon.status, 401);
    assert.equal(anon.res.headers['www-authenticate'], 'Bearer realm="kiro-worker"');
    assert.equal(((await anon.json()) as { code: string }).code, 'UNAUTHORIZED');
    const wrong = await EventStream.open(new WorkerClient(w.url, 'x'.repeat(30)));
    assert.equal(wrong.status, 401);
    wrong.close();
  });

  it('refuses a malformed filter with 400', async function () {
    for (const q of ['?jobs=../etc', '?jobs=a,,b', '?other=1']) {
      const res = await c.request('GET', `/events${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(((await res.json()) as { code: string }).code, 'BAD_REQUEST');
    }
  });

  it('starts with the current slots, then follows a job queued → preparing → running → pushing → succeeded, the slot busy then idle', async function () {
    const s = await open();
    assert.equal(s.status, 200);
    assert.match(s.res.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.match(s.res.headers['cache-control'] ?? '', /no-store/);
    const first = await s.until(() => s.events[0], 'the first event');
    assert.equal(first.data.type, 'slots', 'nothing is running: the snapshot is the slots alone');
    assert.deepEqual(first.data.type === 'slots' && first.data.pool.slots.map((x) => x.state), ['idle', 'idle']);

    const id = await submit('Events order');
    const done = await s.until(() => s.jobs(id).find((j) => FINAL.includes(j.state)), 'the job to end');
    assert.deepEqual(
      s.jobs(id).map((j) => j.state),
      LIFE,
      JSON.stringify(done.error),
    );
    assertIncreasing(s);
    // The payload is what GET /jobs/:id answers.
    assert.deepEqual(done, await c.job(id));
    assert.match(done.commitSha ?? '', /^[0-9a-f]{40}$/);
    // The slot: idle in the snapshot, busy for the job, idle again once it is over.
    const slot = done.slotId ?? -1;
    const isEnd = (e: Received) => e.data.type === 'job' && e.data.job.jobId === id && FINAL.includes(e.data.job.state);
    const isIdle = (e: Received) => e.data.type === 'slots' && e.data.pool.slots[slot]?.state === 'idle';
    await s.until(() => s.events.slice(s.events.findIndex(isEnd)).some(isIdle), 'the slot idle again');
    assert.deepEqual(
      s.slots().map((p) => p.slots[slot]?.state),
      ['idle', 'busy', 'idle'],
    );
    const [, busy, after] = s.slots();
    assert.equal(busy?.slots[slot]?.jobId, id);
    assert.equal(busy?.running, 1);
    assert.equal(after?.running, 0);
    // In the order they happened: busy before preparing, idle after the end.
    const at = (pred: (e: Received) => boolean) => s.events.findIndex(pred);
    assert.ok(
      at((e) => e.data.type === 'slots' && e.data.pool.slots[slot]?.state === 'busy') <
        at((e) => e.data.type === 'job' && e.data.job.state === 'preparing'),
    );
    assert.ok(at(isEnd) < s.events.findLastIndex(isIdle));
  });

  it('the no-change path ends in no-changes', async function () {
    await idle();
    const s = await open();
    const id = await submit('Events nothing', 'no-change');
    await s.until(() => s.jobs(id).find((j) => FINAL.includes(j.state)), 'the job to end');
    assert.deepEqual(
      s.jobs(id).map((j) => j.state),
      ['queued', 'preparing', 'running', 'pushing', 'no-changes'],
    );
    assert.equal(s.jobs(id).at(-1)?.error?.code, 'NO_CHANGES');
    assertIncreasing(s);
  });

  it('?jobs= gives only those jobs (with their current state first), unknown ids are fine, jobs= alone gives slots only', async function () {
    await idle();
    const all = await open();
    const [a, b] = await Promise.all([submit('Events filter A'), submit('Events filter B')]);
    const onlyA = await open(`?jobs=${a},no-such-job`);
    const onlyB = await open(`?jobs=${b}`);
    const none = await open('?jobs=');
    for (const [s, id] of [
      [onlyA, a],
      [onlyB, b],
      [all, a],
      [all, b],
    ] as const)
      await s.until(() => s.jobs(id).some((j) => FINAL.includes(j.state)), `job ${id} to end`);
    await idle();
    await none.until(
      () => none.slots().some((p) => p.running > 0) && none.slots().at(-1)?.running === 0,
      'the slots-only stream to see the slots busy, then idle',
    );

    assert.deepEqual([...new Set(onlyA.jobs().map((j) => j.jobId))], [a]);
    assert.deepEqual([...new Set(onlyB.jobs().map((j) => j.jobId))], [b]);
    assert.deepEqual(none.jobs(), []);
    for (const [s, id] of [
      [onlyA, a],
      [onlyB, b],
    ] as const) {
      // Connected after the submit: the first event is its state at that moment, then the rest of its life.
      // A state may come twice only when something else changed with it (a running agent's output).
      const jobs = s.jobs(id);
      for (let i = 1; i < jobs.length; i++) assert.notDeepEqual(jobs[i], jobs[i - 1], `no event repeats the one before: ${jobs[i]?.state}`);
      const states = jobs.map((j) => j.state).filter((st, i, all) => st !== all[i - 1]);
      assert.ok(LIFE.includes(states[0] ?? 'failed'), states.join(','));
      assert.deepEqual(states, LIFE.slice(LIFE.indexOf(states[0] ?? 'failed')), `${id}: ${states.join(',')}`);
      assertIncreasing(s);
    }
    assert.deepEqual(
      all.jobs(a).map((j) => j.state),
      LIFE,
    );
    assert.deepEqual(
      all.jobs(b).map((j) => j.state),
      LIFE,
    );
    // Slot events reach every stream, filtered or not.
    assert.ok(onlyA.slots().length > 1 && none.slots().length > 1);
  });

  it('a reconnect with Last-Event-ID gets exactly the events it missed: none twice, none lost', async function () {
    await idle();
    const reference = await open();
    const s = await open();
    const id = await submit('Events resume');
    const running = await s.until(
      () => s.events.find((e) => e.data.type === 'job' && e.data.job.jobId === id && e.data.job.state === 'running'),
      'running',
    );
    s.close();
    const seenBefore = s.events.filter((e) => e.id <= running.id);
    // Everything else happens while it is away.
    await reference.until(() => reference.jobs(id).some((j) => FINAL.includes(j.state)), 'the job to end');
    await idle();
    await reference.until(() => reference.slots().at(-1)?.running === 0, 'the idle slot event');

    const resumed = await open('', String(running.id));
    await resumed.until(() => resumed.lastId >= reference.lastId, 'the replay to catch up with the reference stream');
    const missed = reference.events.filter((e) => e.id > running.id && e.id <= reference.lastId);
    const replayed = resumed.events.filter((e) => e.id <= reference.lastId);
    assert.deepEqual(replayed, missed);
    assert.deepEqual(
      replayed.flatMap((e) => (e.data.type === 'job' ? [e.data.job.state] : [])),
      ['pushing', 'succeeded'],
    );
    assert.ok(
      replayed.some((e) => e.data.type === 'slots'),
      'the slot going idle is replayed too',
    );
    assertIncreasing(resumed);
    // Together, the two connections saw the job's whole life once.
    const whole = [...seenBefore, ...replayed].flatMap((e) => (e.data.type === 'job' && e.data.job.jobId === id ? [e.data.job.state] : []));
    assert.deepEqual(whole, LIFE);
    assert.deepEqual(
      [...seenBefore, ...replayed].map((e) => e.id),
      [...new Set([...seenBefore, ...replayed].map((e) => e.id))],
    );

    // With a filter, the replay is filtered the same way.
    const filtered = await open(`?jobs=${id}`, String(running.id));
    await filtered.until(() => filtered.lastId >= reference.lastId, 'the filtered replay');
    assert.deepEqual(
      filtered.events.filter((e) => e.id <= reference.lastId),
      missed,
    );
  });

  it('an unusable Last-Event-ID (older than the buffer, from another process, not a number) gets the current state as on a fresh connect', async function () {
    await idle();
    const id = await submit('Events snapshot', 'no-change');
    const ref = await open();
    await ref.until(() => ref.jobs(id).some((j) => FINAL.includes(j.state)), 'the job to end');
    await idle();
    for (const last of ['1', String(ref.lastId + 1000), String(Number.MAX_SAFE_INTEGER), 'abc', '']) {
      const s = await open(`?jobs=${id}`, last);
      const [job, slots] = await s.until(
        () => (s.events.length >= 2 ? s.events : undefined),
        `a snapshot for Last-Event-ID ${JSON.stringify(last)}`,
      );
      assert.equal(job?.data.type, 'job');
      assert.deepEqual(job?.data.type === 'job' && job.data.job, await c.job(id));
      assert.equal(slots?.data.type, 'slots');
      assert.ok((job?.id ?? 0) > ref.lastId && (slots?.id ?? 0) > (job?.id ?? 0), 'snapshot events have fresh ids');
      s.close();
    }
  });

  it('sends a heartbeat comment', async function () {
    const s = await open('?jobs=');
    await s.until(() => s.comments.filter((x) => x === 'ping').length >= 2, 'two heartbeats');
  });

  it('removes its listeners when the client disconnects', async function () {
    const feed = w.app.eventFeed;
    const before = { job: w.queue.listenerCount('job'), slot: w.queue.listenerCount('slot'), feed: feed.subscriberCount };
    const s = await Promise.all([open(), open('?jobs='), open('?jobs=x')]);
    await pollUntil(() => feed.subscriberCount === before.feed + 3, { what: 'three subscribers' });
    // Connections share the feed's one pair of pool listeners.
    assert.equal(w.queue.listenerCount('job'), before.job);
    for (const x of s) x.close();
    await pollUntil(() => feed.subscriberCount === before.feed, { what: 'subscribers gone' });
    assert.equal(w.queue.listenerCount('job'), before.job);
    assert.equal(w.queue.listenerCount('slot'), before.slot);
  });

  it('closing the worker ends open streams instead of waiting for them', async function () {
    const s = await open();
    await s.until(() => s.events.length > 0, 'the snapshot');
    const listeners = w.app.jobs.listenerCount('job');
    closed = true;
    const closing = w.close();
    await s.until(() => s.ended, 'the stream to end', 5_000);
    assert.equal(s.error, null, 'a clean end, not an error');
    await Promise.race([
      closing,
      new Promise((_, reject) => setTimeout(() => reject(new Error('app.close() waited for an open event stream')), 10_000).unref()),
    ]);
    assert.equal(
      w.app.jobs.listenerCount('job'),
      0,
      `every listener (the event feed's, the metrics') let go of the jobs (${listeners} before)`,
    );
  });
});

describe('EventFeed', function () {
  it('replays from its buffer, and answers null for an id it can no longer replay from', function () {
    const feed = new EventFeed(3, 1000);
    const slots: WorkerEvent = { type: 'slots', pool: { slots: [], queued: 0, running: 0, capacity: 0 } };
    for (let i = 0; i < 5; i++) feed.publish(null, slots);
    // ids 1001..1005; 1003..1005 kept.
    assert.deepEqual(
      feed.since(1003)?.map((e) => e.id),
      [1004, 1005],
    );
    assert.deepEqual(
      feed.since(1002)?.map((e) => e.id),
      [1003, 1004, 1005],
    );
    assert.deepEqual(feed.since(1005), []);
    assert.equal(feed.since(1001), null, 'event 1002 is gone');
    assert.equal(feed.since(1006), null, 'not yet given');
    assert.equal(feed.since(5), null, 'an earlier process');
    // Ids handed out for snapshots leave gaps; a resume from one replays what followed it.
    const snap = feed.nextId();
    feed.publish('j', slots);
    assert.deepEqual(
      feed.since(snap)?.map((e) => e.id),
      [snap + 1],
    );
    const got: number[] = [];
    const off = feed.subscribe((e) => got.push(e.id));
    feed.publish(null, slots);
    off();
    feed.publish(null, slots);
    assert.deepEqual(got, [snap + 2]);
    assert.equal(feed.subscriberCount, 0);
  });
});
