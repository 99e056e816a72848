// Event-stream fan-out: N clients of GET /events on one worker host (a separate process,
// so its memory is its own), at N = 10, 100 and 1,000:
//  - sseClientRssKb: the worker's resident memory per connected client (at 1,000)
//  - sseFanoutP99Ms: from a job event's arrival at the first client to its arrival at each
//    of the others, p99 (at 1,000); the same at 10 and 100 so the growth shows.
import { connect as tcp, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { GitHubStandIn } from '../test/support/github/server.js';
import { pollUntil, tempDir } from '../test/support/helpers.js';
import { jobRequest, makeTaskPr, startWorkerProcess, stopProcess, workerEnv, WorkerClient, WORKER_TOKEN } from '../test/support/worker.js';
import { percentile, round } from './stats.js';

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);

interface Client {
  socket: Socket;
  /** performance.now() of the first chunk naming the marker job. */
  arrived?: number;
}

/**
 * A bare TCP client speaking just enough HTTP/1.1: a thousand of them in this one process
 * must cost it as little as possible, or the measurement is of the client, not the worker.
 */
function connect(url: string, clients: Client[], marker: () => string | undefined): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcp(Number(u.port), u.hostname, () =>
      socket.write(`GET /events HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${WORKER_TOKEN}\r\n\r\n`),
    );
    const c: Client = { socket };
    let head = true;
    socket.on('data', (d: Buffer) => {
      if (head) {
        head = false;
        if (!d.subarray(0, 12).toString().startsWith('HTTP/1.1 200'))
          return reject(new Error(`GET /events: ${d.subarray(0, 40).toString()}`));
        resolve();
      }
      const m = marker();
      if (m && c.arrived === undefined && d.includes(m)) c.arrived = performance.now();
    });
    socket.on('error', reject);
    clients.push(c);
  });
}

export async function benchStreams(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  gh.addUser('alice');
  const bot = gh.addUser('kiro-bot');
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  // A fresh worker for each N, so its memory before is the same idle baseline.
  const start = async () =>
    startWorkerProcess(
      workerEnv(gh, bot.token, await tempDir(), {
        KIRO_LOG_LEVEL: 'error',
        KIRO_RATE_LIMIT_PER_MIN: '1000000',
        KIRO_STREAM_MAX_PER_CALLER: '100000',
        FAKE_KIRO_SCENARIO: 'no-change',
        FAKE_KIRO_STEP_MS: '0',
      }),
      { keepChars: 20_000 },
    );
  let w = await start();
  const out: Record<string, number> = {};
  const clients: Client[] = [];
  let marker: string | undefined;
  try {
    let seq = 0;
    for (const n of [10, 100, 1000]) {
      for (const c of clients) c.socket.destroy();
      clients.length = 0;
      await stopProcess(w.child);
      w = await start();
      const pid = w.child.pid ?? 0;
      const api = new WorkerClient(w.url);
      // Warmed by a few requests (its first ones compile code), then its idle size.
      for (let i = 0; i < 20; i++) await api.request('GET', '/health');
      const before = rssKb(pid);
      for (let i = 0; i < n; i += 50)
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => connect(w.url, clients, () => marker)));
      const after = rssKb(pid);
      // Jobs whose titles no snapshot has: their `queued` events are timed, the first (cold code) as a warm-up.
      for (const round of ['warm-up', 'timed']) {
        for (const c of clients) c.arrived = undefined;
        const title = `fanout-${n}-${++seq}`;
        const pr = await makeTaskPr(gh, 'alice', 'app', title, title);
        marker = title;
        await api.submit(jobRequest('alice', 'app', title, pr.number, `${title} ${round}`));
        await pollUntil(() => clients.every((c) => c.arrived !== undefined), { timeoutMs: 60_000, what: `the event at all ${n} clients` });
      }
      const first = Math.min(...clients.map((c) => c.arrived ?? Number.NaN));
      const delays = clients.map((c) => (c.arrived ?? Number.NaN) - first);
      const perClient = (after - before) / n;
      console.log(
        `streams: ${n} clients: ${round(perClient, 1)} KB resident per client, fan-out to the last p50 ${round(percentile(delays, 50), 1)} ms, p99 ${round(percentile(delays, 99), 1)} ms, max ${round(Math.max(...delays), 1)} ms`,
      );
      out[`sseClientRssKb_${n}`] = round(perClient, 1);
      out[`sseFanoutP99Ms_${n}`] = round(percentile(delays, 99), 1);
      marker = undefined;
    }
    out.sseClientRssKb = out.sseClientRssKb_1000 ?? Number.NaN;
    out.sseFanoutP99Ms = out.sseFanoutP99Ms_1000 ?? Number.NaN;
    return out;
  } finally {
    for (const c of clients) c.socket.destroy();
    await stopProcess(w.child);
    await gh.close();
  }
}
