// The agent's network against hostile agents, on the real worker with the real sandbox
// (bubblewrap, the bridge, each job's own egress proxy): the default policy (the preset's
// API hosts plus KIRO_AGENT_ALLOW_HOSTS), an explicit allow list naming the forbidden
// destinations outright, and `open`. In every one the cloud's metadata addresses, this
// worker's own port and the fleet's Redis stay out of reach however they are written,
// and what was refused shows on the job, in its terminal and in the PR comment.
//
// Nothing here leaves the machine: every destination is an address literal, `localhost`
// or a name refused before any lookup; the forbidden link-local addresses are refused
// before any connection (a run with the rule removed must run under `unshare --net`).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { startRedis, type RedisServer } from '../../../scripts/support/redis.js';
import { stopChild } from '../../../scripts/support/lifecycle.js';
import type { JobStatus } from '../../../shared/protocol.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, WorkerClient, workerEnv, type TestWorker } from '../../support/worker.js';

/** One thing the agent tries: CONNECT (then a request, or PING) or plain HTTP through its proxy, or a connection of its own. */
interface Attempt {
  name: string;
  via: 'connect' | 'get' | 'direct';
  /** host:port (CONNECT, direct) or an http:// URL (get). */
  target: string;
  /** Sent in the tunnel: `http` (GET /probe) by default, `redis` (PING). */
  speak?: 'http' | 'redis';
}
interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

// The hostile agent: runs with the sandbox's node, reads its plan from TASK.md, prints one EGRESS line per attempt.
const AGENT = String.raw`
const fs = require('node:fs'), net = require('node:net'), http = require('node:http');
const m = /\[egress: ([A-Za-z0-9+/=]+)\]/.exec(fs.readFileSync('TASK.md', 'utf8'));
const plan = m ? JSON.parse(Buffer.from(m[1], 'base64').toString()) : { attempts: [] };
const proxy = new URL(process.env.HTTPS_PROXY || 'http://127.0.0.1:1');
const say = (name, ok, detail) => console.log('EGRESS ' + JSON.stringify({ name, ok, detail: String(detail).slice(0, 400) }));
const split = (t) => { const i = t.lastIndexOf(':'); return { host: t.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(t.slice(i + 1)) }; };
function talk(socket, first, speak) {
  return new Promise((resolve) => {
    let text = '', tunnelled = !first;
    const done = () => { socket.destroy(); resolve(text); };
    socket.setTimeout(4000, done);
    socket.on('error', (e) => { text += ' ERROR ' + e.code; done(); });
    socket.on('close', done);
    socket.on('data', (c) => {
      text += c.toString('latin1');
      if (!tunnelled && text.includes('\r\n\r\n')) {
        tunnelled = true;
        if (text.startsWith('HTTP/1.1 200')) socket.write(speak === 'redis' ? 'PING\r\n' : 'GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n');
        else socket.end();
      }
    });
    if (first) socket.write(first); else socket.write(speak === 'redis' ? 'PING\r\n' : 'GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n');
  });
}
(async () => {
  for (const a of plan.attempts) {
    try {
      if (a.via === 'connect') {
        const text = await talk(net.connect(Number(proxy.port), proxy.hostname), 'CONNECT ' + a.target + ' HTTP/1.1\r\nHost: ' + a.target + '\r\n\r\n', a.speak);
        say(a.name, /^HTTP\/1\.1 200/.test(text) && /(hello from|\+PONG)/.test(text), text);
      } else if (a.via === 'get') {
        const text = await new Promise((resolve) => {
          const req = http.request({ host: proxy.hostname, port: Number(proxy.port), path: a.target, agent: false }, (res) => {
            let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(res.statusCode + ' ' + b));
          });
          req.on('error', (e) => resolve('ERROR ' + e.code));
          req.end();
        });
        say(a.name, /^200 /.test(text), text);
      } else {
        const { host, port } = split(a.target);
        const text = await talk(net.connect(port, host), null, a.speak);
        say(a.name, /(hello from|\+PONG)/.test(text), text || 'nothing');
      }
    } catch (e) {
      say(a.name, false, 'THREW ' + e.message);
    }
  }
  fs.writeFileSync('egress.txt', 'tried ' + plan.attempts.length + '\n');
})();
`;

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The first non-loopback IPv4 address of this host (its own interface), if it has one. */
function ownAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

describe('egress: hostile agents against the default network, an explicit allow list and open, on the real worker', function () {
  this.timeout(120_000);
  let gh: GitHubStandIn;
  let botToken: string;
  let redis: RedisServer;
  let redisDir: string;
  const servers: Server[] = [];
  const dirs: string[] = [];
  let seq = 0;

  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
    redisDir = await tempDir();
    redis = await startRedis(redisDir);
  });
  after(async function () {
    for (const s of servers) s.close();
    await gh?.close();
    if (redis) await stopChild(redis.child, 3000);
    for (const d of [redisDir, ...dirs]) if (d) await rm(d, { recursive: true, force: true });
  });

  /** A loopback HTTP server that says who it is, and what it saw. */
  async function probe(name: string): Promise<{ port: number; hits: string[] }> {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end(`hello from ${name}`);
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as net.AddressInfo).port, hits };
  }

  async function worker(extra: Record<string, string>, port: number): Promise<TestWorker> {
    // Not under /tmp, as in production: the sandbox's private /tmp would cover it.
    const stateDir = await mkdtemp('/var/tmp/kiro-egress-');
    dirs.push(stateDir);
    return startWorker(
      workerEnv(gh, botToken, stateDir, {
        KIRO_AGENT_COMMAND: JSON.stringify([process.execPath, '-e', AGENT, '{prompt}']),
        KIRO_JOB_TIMEOUT_MS: '60000',
        ...extra,
      }),
      { port },
    );
  }

  /** One job whose agent makes these attempts; its status, what the agent saw, its terminal and its PR comment. */
  async function run(
    w: TestWorker,
    attempts: Attempt[],
  ): Promise<{ job: JobStatus; out: Map<string, Outcome>; log: string; comment: string }> {
    const c = new WorkerClient(w.url);
    const branch = `egress-${++seq}-${Date.now()}`;
    const plan = Buffer.from(JSON.stringify({ attempts })).toString('base64');
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, `Egress ${seq}`, `\n[egress: ${plan}]`);
    const accepted = await c.submit(jobRequest('alice', 'app', branch, pr.number, `Egress ${seq}`));
    const job = await c.waitFor(accepted.jobId, ['succeeded', 'failed', 'no-changes', 'timed-out'], 90_000);
    // The job's terminal as every reader gets it (a fleet keeps it in Redis).
    const log = await (await c.request('GET', `/jobs/${accepted.jobId}/log`)).text();
    const out = new Map(
      [...log.matchAll(/^EGRESS (\{.*\})\r?$/gm)].map((m) => JSON.parse(m[1] ?? '{}') as Outcome).map((o) => [o.name, o]),
    );
    const comment = await pollUntil(() => gh.model.repo('alice', 'app')?.comments.find((x) => x.issueNumber === pr.number)?.body, {
      timeoutMs: 15_000,
      what: 'the PR comment',
    });
    assert.equal(job.state, 'succeeded', `the agent ran to its end: ${JSON.stringify(job.error)}\n${log.slice(-3000)}`);
    assert.equal(out.size, new Set(attempts.map((a) => a.name)).size, `every attempt reported:\n${log.slice(-3000)}`);
    return { job, out, log, comment };
  }

  function refused(r: { out: Map<string, Outcome> }, name: string, why: RegExp): void {
    const o = r.out.get(name);
    assert.ok(o, `tried ${name}`);
    assert.equal(o.ok, false, `${name} must fail: ${o.detail}`);
    assert.match(o.detail, why, name);
  }

  describe("the default: the preset's API hosts and KIRO_AGENT_ALLOW_HOSTS", function () {
    let w: TestWorker;
    let allowed: { port: number; hits: string[] };
    let other: { port: number; hits: string[] };
    before(async function () {
      [allowed, other] = await Promise.all([probe('allowed'), probe('other')]);
      // A custom agent: its preset names no host, so the list is KIRO_AGENT_ALLOW_HOSTS alone.
      w = await worker({ KIRO_AGENT_NETWORK: '', KIRO_AGENT_ALLOW_HOSTS: `127.0.0.1:${allowed.port}` }, await freePort());
    });
    after(async () => w?.close());

    it('is in force with nothing set, and /health names it', async function () {
      assert.equal(w.config.sandbox.network.mode, 'allow');
      const h = (await (await new WorkerClient(w.url).request('GET', '/health')).json()) as {
        sandbox?: { network: string; allowHosts?: string[] };
      };
      assert.equal(h.sandbox?.network, `allow: 127.0.0.1:${allowed.port} (default)`);
      assert.deepEqual(h.sandbox?.allowHosts, [`127.0.0.1:${allowed.port}`]);
    });

    it('reaches the listed host and nothing else; each refusal is on the job, in its terminal once, and in the PR comment', async function () {
      const r = await run(w, [
        { name: 'allowed', via: 'connect', target: `127.0.0.1:${allowed.port}` },
        { name: 'registry', via: 'connect', target: 'registry.npmjs.org:443' },
        { name: 'registry again', via: 'connect', target: 'registry.npmjs.org:443' },
        { name: 'other loopback', via: 'connect', target: `127.0.0.1:${other.port}` },
        { name: 'plain http', via: 'get', target: `http://127.0.0.1:${other.port}/secret` },
        { name: 'allowed, directly', via: 'direct', target: `127.0.0.1:${allowed.port}` },
      ]);
      assert.equal(r.out.get('allowed')?.ok, true, r.out.get('allowed')?.detail);
      refused(r, 'registry', /^HTTP\/1\.1 403 Forbidden[^]*registry\.npmjs\.org:443 is not on KIRO_AGENT_NETWORK's allow list/);
      refused(r, 'registry again', /403/);
      refused(r, 'other loopback', /403/);
      refused(r, 'plain http', /^403 /);
      // Its own network namespace: the host's loopback is not there.
      refused(r, 'allowed, directly', /ECONNREFUSED|nothing/);
      assert.deepEqual(other.hits, [], 'the refused server saw nothing');
      assert.deepEqual(allowed.hits, ['/probe']);
      // On the job: each destination once, with how often.
      assert.deepEqual(
        r.job.blocked?.map((b) => [b.host, b.port, b.reason, b.count]),
        [
          ['registry.npmjs.org', 443, 'not-allowed', 2],
          ['127.0.0.1', other.port, 'not-allowed', 2],
        ],
      );
      // In the terminal: a worker note the first time each was refused.
      assert.equal(r.log.split('blocked: registry.npmjs.org:443 — add it to KIRO_AGENT_ALLOW_HOSTS').length - 1, 1, r.log.slice(-3000));
      assert.ok(r.log.includes(`blocked: 127.0.0.1:${other.port} — add it to KIRO_AGENT_ALLOW_HOSTS`));
      // In the PR comment.
      assert.match(r.comment, /\*\*Blocked network requests\*\*/);
      assert.match(r.comment, /^- `registry\.npmjs\.org:443` \(2 times\): not on the allow list: add it to `KIRO_AGENT_ALLOW_HOSTS`/m);
    });
  });

  // The forbidden destinations, named outright: listing them must not open them.
  const metadataAttempts: Attempt[] = [
    { name: 'metadata', via: 'connect', target: '169.254.169.254:80' },
    { name: 'metadata over plain http', via: 'get', target: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
    { name: 'metadata, IPv6 (EC2)', via: 'connect', target: '[fd00:ec2::254]:80' },
    { name: 'metadata, IPv4-mapped', via: 'connect', target: '[::ffff:169.254.169.254]:80' },
    { name: 'metadata, ECS task endpoint', via: 'connect', target: '169.254.170.2:80' },
  ];

  function workerAttempts(port: number, redisPort: number): Attempt[] {
    return [
      { name: 'worker', via: 'connect', target: `127.0.0.1:${port}` },
      { name: 'worker by name', via: 'connect', target: `localhost:${port}` },
      { name: 'worker over IPv6', via: 'connect', target: `[::1]:${port}` },
      { name: 'worker over plain http', via: 'get', target: `http://127.0.0.1:${port}/health` },
      { name: 'redis', via: 'connect', target: `127.0.0.1:${redisPort}`, speak: 'redis' },
      { name: 'redis by name', via: 'connect', target: `localhost:${redisPort}`, speak: 'redis' },
      { name: 'worker, directly', via: 'direct', target: `127.0.0.1:${port}` },
      { name: 'redis, directly', via: 'direct', target: `127.0.0.1:${redisPort}`, speak: 'redis' },
    ];
  }

  function assertForbidden(r: Awaited<ReturnType<typeof run>>, names: string[]): void {
    for (const name of names) {
      const why = name.startsWith('metadata') ? /link-local/ : name.startsWith('redis') ? /the fleet's Redis/ : /this worker's own API/;
      refused(r, name, name.endsWith('directly') ? /ECONNREFUSED|nothing/ : why);
      assert.doesNotMatch(r.out.get(name)?.detail ?? '', /\+PONG|"slots"|hello from/, `${name} reached something`);
    }
  }

  describe('an explicit allow list that names the metadata service, this worker and Redis (a fleet host)', function () {
    let w: TestWorker;
    let port: number;
    let allowed: { port: number; hits: string[] };
    before(async function () {
      allowed = await probe('allowed');
      port = await freePort();
      const listed = [
        '169.254.169.254:80',
        '169.254.170.2:80',
        '[fd00:ec2::254]:80',
        '[::ffff:169.254.169.254]:80',
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `[::1]:${port}`,
        `127.0.0.1:${redis.port}`,
        `localhost:${redis.port}`,
        `127.0.0.1:${allowed.port}`,
      ];
      w = await worker(
        {
          KIRO_AGENT_NETWORK: `allow:${listed.join(',')}`,
          KIRO_REDIS_URL: `${redis.url.replace(/\/\d*$/, '')}/3`,
          KIRO_WORKER_ID: 'egress-allow',
        },
        port,
      );
    });
    after(async () => w?.close());

    it('refuses each of them, at whatever address, and still reaches the rest of the list', async function () {
      assert.ok(w.config.fleet, 'a fleet host: it knows its Redis');
      const attempts = [
        ...metadataAttempts,
        ...workerAttempts(port, redis.port),
        { name: 'allowed', via: 'connect' as const, target: `127.0.0.1:${allowed.port}` },
      ];
      const r = await run(w, attempts);
      assert.equal(r.out.get('allowed')?.ok, true, r.out.get('allowed')?.detail);
      assertForbidden(
        r,
        attempts.filter((a) => a.name !== 'allowed').map((a) => a.name),
      );
      const reasons = new Map(r.job.blocked?.map((b) => [`${b.host}:${b.port}`, b.reason]));
      assert.equal(reasons.get('169.254.169.254:80'), 'link-local');
      assert.equal(reasons.get('fd00:ec2::254:80'), 'link-local');
      assert.equal(reasons.get(`127.0.0.1:${port}`), 'worker');
      assert.equal(reasons.get(`::1:${port}`), 'worker');
      assert.equal(reasons.get(`localhost:${redis.port}`), 'redis');
      assert.ok(
        r.log.includes("blocked: 169.254.169.254:80 — link-local (a cloud's metadata service); no agent may reach it"),
        r.log.slice(-3000),
      );
      assert.match(r.comment, /^- `\[fd00:ec2::254\]:80`: link-local/m);
      assert.match(r.comment, new RegExp(`^- \`127\\.0\\.0\\.1:${redis.port}\`: the fleet's Redis`, 'm'));
    });
  });

  describe('open: any public address, never the metadata service, this worker or Redis', function () {
    let w: TestWorker;
    let port: number;
    let allowed: { port: number; hits: string[] };
    let other: { port: number; hits: string[] };
    before(async function () {
      [allowed, other] = await Promise.all([probe('allowed'), probe('other')]);
      port = await freePort();
      w = await worker(
        {
          KIRO_AGENT_NETWORK: 'open',
          KIRO_AGENT_ALLOW_HOSTS: `127.0.0.1:${allowed.port}`,
          KIRO_REDIS_URL: `${redis.url.replace(/\/\d*$/, '')}/4`,
          KIRO_WORKER_ID: 'egress-open',
        },
        port,
      );
    });
    after(async () => w?.close());

    it('/health says so', async function () {
      const h = (await (await new WorkerClient(w.url).request('GET', '/health')).json()) as { sandbox?: { network: string } };
      assert.equal(h.sandbox?.network, 'open: any public address + 1 listed host');
    });

    it('refuses the forbidden destinations however they are written, and private addresses it was not told of', async function () {
      const own = ownAddress();
      const disguised: Attempt[] = [
        // What the resolver makes of numbers: 169.254.169.254 and 127.0.0.1 in decimal, hex, octal.
        { name: 'metadata, decimal', via: 'connect', target: '2852039166:80' },
        { name: 'metadata, hex', via: 'connect', target: '0xa9fea9fe:80' },
        { name: 'metadata, octal', via: 'connect', target: '0251.0376.0251.0376:80' },
        { name: 'metadata, NAT64', via: 'connect', target: '[64:ff9b::a9fe:a9fe]:80' },
        { name: 'metadata, mapped hex', via: 'connect', target: '[::ffff:a9fe:a9fe]:80' },
        { name: 'metadata, link-local v6', via: 'connect', target: '[fe80::1]:80' },
        { name: 'worker, decimal', via: 'connect', target: `2130706433:${port}` },
        { name: 'worker, 0.0.0.0', via: 'connect', target: `0.0.0.0:${port}` },
        { name: 'worker, another loopback', via: 'connect', target: `127.9.8.7:${port}` },
        ...(own ? [{ name: "worker, this host's own address", via: 'connect' as const, target: `${own}:${port}` }] : []),
        { name: 'redis, hex', via: 'connect', target: `0x7f000001:${redis.port}`, speak: 'redis' },
      ];
      const attempts: Attempt[] = [
        ...metadataAttempts,
        ...workerAttempts(port, redis.port),
        ...disguised,
        { name: 'listed private host', via: 'connect', target: `127.0.0.1:${allowed.port}` },
        { name: 'unlisted private host', via: 'connect', target: `127.0.0.1:${other.port}` },
      ];
      const r = await run(w, attempts);
      assertForbidden(
        r,
        [...metadataAttempts, ...workerAttempts(port, redis.port), ...disguised].map((a) => a.name),
      );
      assert.equal(r.out.get('listed private host')?.ok, true, r.out.get('listed private host')?.detail);
      refused(r, 'unlisted private host', /not a public address/);
      assert.deepEqual(other.hits, []);
      const reasons = r.job.blocked?.map((b) => b.reason) ?? [];
      assert.ok(reasons.includes('link-local') && reasons.includes('worker') && reasons.includes('redis'), JSON.stringify(r.job.blocked));
      // More than 20 destinations were refused: the record keeps the first 20.
      assert.equal(r.job.blocked?.length, 20);
      assert.equal(r.log.split('blocked: ').length - 1, 20, 'one note for each recorded');
    });
  });
});
