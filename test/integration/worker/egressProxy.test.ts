// The egress proxy and net-bridge for real, all on loopback: two plain HTTP
// servers (one allowed, one not), the proxy on a Unix socket in a temp dir, and
// the bridge (bundled by esbuild exactly as the build does) running a small
// agent script that goes through HTTP_PROXY.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startEgressProxy, type BlockedRequest, type EgressProxy } from '../../../worker-service/sandbox/egressProxy.js';
import { ForbiddenTargets, type Lookup } from '../../../worker-service/sandbox/egressPolicy.js';
import { repoRoot } from '../../support/paths.js';
import { pollUntil, tempDir } from '../../support/helpers.js';

interface Target {
  server: http.Server;
  port: number;
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
}

async function startTarget(name: string, host = '127.0.0.1', port = 0): Promise<Target> {
  const seen: Target['seen'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const text = `${name} got ${req.method} ${req.url}${body ? ` body=${body}` : ''}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), 'x-target': name });
      res.end(text);
    });
  });
  server.listen(port, host);
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, seen };
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Rejects if `p` has not settled within `ms`: every wait in this file is bounded. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Everything a socket sends until it closes. */
function readAll(socket: net.Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  return within(
    new Promise<string>((resolve, reject) => {
      socket.once('close', () => resolve(text));
      socket.once('error', reject);
    }),
    5000,
    'socket to close',
  );
}

/** CONNECT through the proxy; on 200, sends `GET /path` in the tunnel and half-closes. Returns all that came back. */
async function connectThrough(socketPath: string, target: string, path = '/tunnelled'): Promise<string> {
  const socket = net.connect({ path: socketPath, allowHalfOpen: true });
  const all = readAll(socket);
  let head = '';
  const onHead = (c: string) => {
    head += c;
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onHead);
    // Our request goes out, then our side is closed while the answer is still to come.
    if (head.startsWith('HTTP/1.1 200')) socket.end(`GET ${path} HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
  };
  socket.on('data', onHead);
  // Like any client: when the other side is done, so are we.
  socket.on('end', () => socket.end());
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  return all;
}

/** A request to the proxy over its socket; `path` is absolute-form or origin-form. */
function viaProxy(
  socketPath: string,
  path: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ socketPath, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    5000,
    `request ${path}`,
  );
}

describe('egress proxy and net-bridge', function () {
  this.timeout(30_000);
  let dir: string;
  let allowed: Target;
  let other: Target;
  let closedPort: number;
  let proxy: EgressProxy;
  let socketPath: string;
  const infos: { o: object; m: string }[] = [];
  const log = { info: (o: object, m: string) => void infos.push({ o, m }), warn: () => undefined };

  before(async function () {
    dir = await tempDir();
    [allowed, other, closedPort] = await Promise.all([startTarget('allowed'), startTarget('other'), freePort()]);
    socketPath = join(dir, 'egress.sock');
    proxy = await startEgressProxy({ socketPath, allow: [`127.0.0.1:${allowed.port}`, 'LOCALHOST', `127.0.0.1:${closedPort}`], log });
  });
  after(async function () {
    await proxy?.close();
    await Promise.all([allowed, other].map((t) => t && new Promise((r) => t.server.close(r))));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("listens on a socket only the service's own uid can use (a sandboxed agent is mapped to it)", function () {
    const st = statSync(socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('tunnels CONNECT to an allowed host:port, both ways, through a half-close', async function () {
    const reply = await connectThrough(socketPath, `127.0.0.1:${allowed.port}`);
    assert.match(reply, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(reply, /allowed got GET \/tunnelled$/);
  });

  it('allows a host name entry on any port (localhost)', async function () {
    const reply = await connectThrough(socketPath, `localhost:${allowed.port}`, '/by-name');
    assert.match(reply, /allowed got GET \/by-name$/);
  });

  it('refuses CONNECT to a host or port not on the list with 403, and never contacts it', async function () {
    const reply = await connectThrough(socketPath, `127.0.0.1:${other.port}`);
    assert.match(reply, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.ok(reply.endsWith(`\r\n\r\n127.0.0.1:${other.port} is not on KIRO_AGENT_NETWORK's allow list\n`), reply);
    const name = await connectThrough(socketPath, 'example.invalid:443');
    assert.match(name, /^HTTP\/1\.1 403 Forbidden\r\n[^]*example\.invalid:443 is not on KIRO_AGENT_NETWORK's allow list/);
    assert.equal(other.seen.length, 0);
    assert.ok(
      infos.some((i) => (i.o as { host?: string }).host === 'example.invalid'),
      'the refusal is logged with its host',
    );
    assert.ok(
      infos.every((i) => !('headers' in i.o)),
      'no headers in the log',
    );
  });

  it('answers 502 when an allowed upstream cannot be reached, 400 to a CONNECT without a port', async function () {
    assert.match(await connectThrough(socketPath, `127.0.0.1:${closedPort}`), /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*ECONNREFUSED/);
    assert.match(await connectThrough(socketPath, 'localhost'), /^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('forwards absolute-form requests to an allowed host, body included, without hop-by-hop or Proxy-* headers', async function () {
    const before = allowed.seen.length;
    const r = await viaProxy(socketPath, `http://127.0.0.1:${allowed.port}/post?q=1`, {
      method: 'POST',
      headers: {
        'proxy-authorization': 'Basic c2VjcmV0',
        connection: 'close, x-hop',
        'x-hop': 'drop me',
        'x-keep': 'keep me',
        'content-type': 'text/plain',
      },
      body: 'hello',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'allowed got POST /post?q=1 body=hello');
    assert.equal(r.headers['x-target'], 'allowed');
    const seen = allowed.seen[before];
    assert.equal(seen?.headers['x-keep'], 'keep me');
    assert.equal(seen?.headers['x-hop'], undefined);
    assert.equal(seen?.headers['proxy-authorization'], undefined);
    assert.equal(seen?.headers.host, `127.0.0.1:${allowed.port}`);
  });

  it('refuses absolute-form requests to other hosts with 403, and origin-form requests with 400', async function () {
    const r = await viaProxy(socketPath, `http://127.0.0.1:${other.port}/secret`);
    assert.equal(r.status, 403);
    assert.equal(r.body, `127.0.0.1:${other.port} is not on KIRO_AGENT_NETWORK's allow list\n`);
    assert.equal(other.seen.length, 0);
    assert.equal((await viaProxy(socketPath, '/just-a-path')).status, 400);
    assert.equal((await viaProxy(socketPath, `https://127.0.0.1:${allowed.port}/`)).status, 400);
  });

  it('replaces a stale socket (its process killed), refuses to replace a file that is not one, removes its socket on close', async function () {
    const path = join(dir, 'stale.sock');
    const crashed = spawn(
      process.execPath,
      ['-e', 'require("net").createServer().listen(process.argv[1], () => process.kill(process.pid, "SIGKILL"))', path],
      { stdio: 'ignore' },
    );
    await within(once(crashed, 'exit'), 10_000, 'the crashing listener');
    assert.ok(statSync(path).isSocket(), 'a stale socket was left behind');
    const p = await startEgressProxy({ socketPath: path, allow: ['localhost'] });
    assert.match(await connectThrough(path, `localhost:${allowed.port}`, '/fresh'), /allowed got GET \/fresh$/);
    await p.close();
    assert.equal(existsSync(path), false);
    const file = join(dir, 'not-a-socket');
    await writeFile(file, 'data');
    await assert.rejects(startEgressProxy({ socketPath: file, allow: ['localhost'] }), /is not a socket/);
    assert.ok(existsSync(file));
  });

  it('close() ends open tunnels', async function () {
    const path = join(dir, 'closing.sock');
    const p = await startEgressProxy({ socketPath: path, allow: ['localhost'] });
    const socket = net.connect({ path });
    const all = readAll(socket);
    socket.write(`CONNECT localhost:${allowed.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await pollUntil(() => socket.bytesRead > 0, { what: 'tunnel established', timeoutMs: 5000 });
    await within(p.close(), 5000, 'proxy close');
    assert.match(await all, /^HTTP\/1\.1 200/);
    assert.equal(existsSync(path), false);
  });

  describe('net-bridge', function () {
    let bridge: string;
    let agentScript: string;

    before(async function () {
      const out = join(dir, 'bridge');
      await mkdir(out);
      bridge = join(out, 'net-bridge.mjs');
      // The same options as scripts/build.ts, so the test runs what ships.
      await build({
        entryPoints: [join(repoRoot, 'worker-service/sandbox/netBridge.ts')],
        outfile: bridge,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'warning',
      });
      // The "agent": CONNECTs through HTTP_PROXY (a raw socket, as curl or git would), prints what came back.
      agentScript = join(out, 'agent.mjs');
      await writeFile(
        agentScript,
        `import net from 'node:net';
import { writeFileSync } from 'node:fs';
if (process.env.MARKER) writeFileSync(process.env.MARKER, 'ran');
const proxy = new URL(process.env.HTTP_PROXY);
async function through(target) {
  const s = net.connect({ host: proxy.hostname, port: Number(proxy.port), allowHalfOpen: true });
  let text = '';
  s.setEncoding('utf8');
  let sent = false;
  s.on('end', () => s.end());
  s.on('data', (c) => {
    text += c;
    if (!sent && text.startsWith('HTTP/1.1 200') && text.endsWith('\\r\\n\\r\\n') && (sent = true)) s.end('GET /from-agent HTTP/1.1\\r\\nHost: ' + target + '\\r\\nConnection: close\\r\\n\\r\\n');
  });
  s.write('CONNECT ' + target + ' HTTP/1.1\\r\\nHost: ' + target + '\\r\\n\\r\\n');
  await new Promise((resolve, reject) => { s.on('close', resolve); s.on('error', reject); });
  return text.split('\\r\\n')[0] + ' | ' + text.slice(text.lastIndexOf('\\r\\n') + 2);
}
console.log('allowed: ' + await through(process.env.ALLOWED));
console.log('other: ' + await through(process.env.OTHER));
console.log('cwd: ' + process.cwd());
if (process.env.HANG) { console.log('ready'); setInterval(() => {}, 1000); }
else process.exit(Number(process.env.EXIT_WITH ?? 0));
`,
      );
    });

    function runBridge(port: number, env: Record<string, string>, socket = socketPath) {
      const child = spawn(process.execPath, [bridge, String(port), socket, '--', process.execPath, agentScript], {
        cwd: dir,
        env: {
          ...process.env,
          HTTP_PROXY: `http://127.0.0.1:${port}`,
          ALLOWED: `127.0.0.1:${allowed.port}`,
          OTHER: `127.0.0.1:${other.port}`,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const done = within(
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
          child.once('close', (code) => resolve({ code, stdout, stderr })),
        ),
        15_000,
        'net-bridge to exit',
      );
      return { child, done, output: () => stdout };
    }

    it('carries the agent through the proxy and exits with its status', async function () {
      const port = await freePort();
      const { code, stdout, stderr } = await runBridge(port, { EXIT_WITH: '7' }).done;
      assert.equal(code, 7, stderr);
      assert.match(stdout, /^allowed: HTTP\/1\.1 200 Connection Established \| allowed got GET \/from-agent$/m);
      assert.match(
        stdout,
        new RegExp(`^other: HTTP/1\\.1 403 Forbidden \\| 127\\.0\\.0\\.1:${other.port} is not on KIRO_AGENT_NETWORK's allow list$`, 'm'),
      );
      assert.match(stdout, new RegExp(`^cwd: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.equal(other.seen.length, 0);
      const ok = await runBridge(await freePort(), {}).done;
      assert.equal(ok.code, 0, ok.stderr);
    });

    it('forwards SIGTERM to the agent and reports its death as 128+15', async function () {
      const run = runBridge(await freePort(), { HANG: '1' });
      await pollUntil(() => run.output().includes('ready'), { what: 'agent ready', timeoutMs: 10_000 });
      run.child.kill('SIGTERM');
      assert.equal((await run.done).code, 143);
    });

    it('exits 125 without starting the agent when the port is taken or the socket is missing', async function () {
      const busy = net.createServer().listen(0, '127.0.0.1');
      await once(busy, 'listening');
      try {
        const marker = join(dir, 'agent-ran');
        const taken = await runBridge((busy.address() as net.AddressInfo).port, { MARKER: marker }).done;
        assert.equal(taken.code, 125);
        assert.match(taken.stderr, /^net-bridge: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
        assert.equal(taken.stderr.trim().split('\n').length, 1);
        const missing = await runBridge(await freePort(), { MARKER: marker }, join(dir, 'no.sock')).done;
        assert.equal(missing.code, 125);
        assert.match(missing.stderr, /egress proxy socket .*no\.sock does not exist/);
        assert.equal(existsSync(marker), false, 'the agent never ran');
      } finally {
        await new Promise((r) => busy.close(r));
      }
    });
  });
});

describe('egress proxy: addresses, not names (forbidden destinations, DNS rebinding)', function () {
  this.timeout(30_000);
  let dir: string;
  // One port, two loopback addresses: 127.0.0.1 is a fine destination, 127.0.0.3 stands in for
  // the cloud's metadata service (a forbidden address: the real ones are not for tests to dial).
  let good: Target;
  let metadata: Target;
  let worker: Target;
  let redis: Target;
  const closers: (() => Promise<unknown>)[] = [];
  const forbiddenExtra = new net.BlockList();
  forbiddenExtra.addAddress('127.0.0.3');

  before(async function () {
    dir = await tempDir();
    good = await startTarget('good');
    metadata = await startTarget('metadata', '127.0.0.3', good.port);
    [worker, redis] = await Promise.all([startTarget('worker'), startTarget('redis')]);
    for (const t of [good, metadata, worker, redis]) closers.push(() => new Promise((r) => t.server.close(r)));
  });
  after(async function () {
    for (const c of closers) await c();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function proxyWith(
    name: string,
    o: { mode?: 'allow' | 'open'; allow: string[]; lookup?: Lookup },
  ): Promise<{ path: string; blocked: BlockedRequest[] }> {
    const path = join(dir, `${name}.sock`);
    const blocked: BlockedRequest[] = [];
    const forbidden = new ForbiddenTargets({
      workerPorts: () => [worker.port],
      redis: { host: 'localhost', port: redis.port },
      extra: forbiddenExtra,
      lookup: o.lookup,
    });
    const p = await startEgressProxy({
      socketPath: path,
      mode: o.mode,
      allow: o.allow,
      forbidden,
      lookup: o.lookup,
      onBlocked: (b) => blocked.push(b),
    });
    closers.push(() => p.close());
    return { path, blocked };
  }

  it('resolves a name once and connects to the address it judged: a name that rebinds to a forbidden address between two lookups still reaches the first', async function () {
    // The rebinding attack: the first answer passes the check, the next (a connect by name) points at the metadata service.
    const answers = ['127.0.0.1', '127.0.0.3', '127.0.0.3', '127.0.0.3'];
    let asked = 0;
    const lookup: Lookup = async () => [{ address: answers[Math.min(asked++, answers.length - 1)] ?? '127.0.0.3', family: 4 }];
    const { path, blocked } = await proxyWith('rebind', { allow: ['rebind.test'], lookup });
    assert.match(await connectThrough(path, `rebind.test:${good.port}`, '/first'), /good got GET \/first$/);
    assert.equal(asked, 1, 'one lookup per request');
    // The next request gets the forbidden answer, and is refused for it.
    assert.match(
      await connectThrough(path, `rebind.test:${good.port}`, '/second'),
      /^HTTP\/1\.1 403 Forbidden\r\n[^]*rebind\.test:\d+ \(127\.0\.0\.3\) is link-local/,
    );
    assert.equal(asked, 2);
    const plain = await viaProxy(path, `http://rebind.test:${good.port}/plain`);
    assert.equal(plain.status, 403);
    assert.equal(asked, 3);
    assert.deepEqual(metadata.seen, [], 'the forbidden address saw nothing');
    assert.deepEqual(
      blocked.map((b) => [b.host, b.reason]),
      [
        ['rebind.test', 'link-local'],
        ['rebind.test', 'link-local'],
      ],
    );
  });

  it('refuses a listed name that resolves to a forbidden address; one with a forbidden and an allowed answer is reached at the allowed one only', async function () {
    const lookup: Lookup = async (host) =>
      (host === 'both.test' ? ['127.0.0.3', '127.0.0.1'] : ['127.0.0.3']).map((address) => ({ address, family: 4 }));
    const { path } = await proxyWith('mixed', { allow: ['meta.test', 'both.test', '127.0.0.3'], lookup });
    assert.match(await connectThrough(path, `meta.test:${good.port}`), /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(await connectThrough(path, `127.0.0.3:${good.port}`), /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.equal((await viaProxy(path, `http://meta.test:${good.port}/x`)).status, 403);
    assert.match(await connectThrough(path, `both.test:${good.port}`, '/both'), /good got GET \/both$/);
    assert.deepEqual(metadata.seen, []);
  });

  it("never lets an agent reach this worker's port or Redis, at any address of this host, however it is written, listed or not", async function () {
    const listed = await proxyWith('listed', {
      allow: [`127.0.0.1:${worker.port}`, `localhost:${worker.port}`, `[::1]:${worker.port}`, `127.0.0.1:${redis.port}`, 'localhost'],
    });
    const open = await proxyWith('open', { mode: 'open', allow: [`127.0.0.1:${worker.port}`, 'localhost'] });
    for (const { path } of [listed, open]) {
      for (const target of [
        `127.0.0.1:${worker.port}`,
        `localhost:${worker.port}`,
        `[::1]:${worker.port}`,
        `127.0.0.1:${redis.port}`,
        `localhost:${redis.port}`,
      ]) {
        assert.match(
          await connectThrough(path, target),
          /^HTTP\/1\.1 403 Forbidden\r\n[^]*(this worker's own API|the fleet's Redis)/,
          target,
        );
      }
      assert.equal((await viaProxy(path, `http://localhost:${worker.port}/health`)).status, 403);
    }
    // Open reaches any address: these are this host all the same (0.0.0.0 connects to it; 2130706433 is 127.0.0.1 to the resolver).
    for (const target of [
      `0.0.0.0:${worker.port}`,
      `127.1.2.3:${worker.port}`,
      `[::ffff:127.0.0.1]:${worker.port}`,
      `[::]:${worker.port}`,
      `2130706433:${worker.port}`,
      `0x7f000001:${redis.port}`,
    ]) {
      assert.match(
        await connectThrough(open.path, target),
        /^HTTP\/1\.1 403 Forbidden\r\n[^]*(this worker's own API|the fleet's Redis)/,
        target,
      );
    }
    assert.deepEqual(worker.seen, [], 'the worker saw nothing');
    assert.deepEqual(redis.seen, [], 'Redis saw nothing');
    assert.ok(
      open.blocked.every((b) => b.reason === 'worker' || b.reason === 'redis'),
      JSON.stringify(open.blocked),
    );
  });

  it('open: a host KIRO_AGENT_ALLOW_HOSTS lists is reached at its private address; any other private address is refused, and recorded', async function () {
    const { path, blocked } = await proxyWith('open-private', { mode: 'open', allow: [`127.0.0.1:${good.port}`] });
    assert.match(await connectThrough(path, `127.0.0.1:${good.port}`, '/listed'), /good got GET \/listed$/);
    const before = good.seen.length;
    assert.match(await connectThrough(path, `localhost:${good.port}`), /^HTTP\/1\.1 403 Forbidden\r\n[^]*not a public address/);
    assert.match(await connectThrough(path, `127.0.0.2:${good.port}`), /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.equal((await viaProxy(path, `http://127.0.0.1:${worker.port}/`)).status, 403);
    assert.equal(good.seen.length, before);
    assert.deepEqual(
      blocked.map((b) => b.reason),
      ['private', 'private', 'worker'],
    );
    assert.ok(blocked.every((b) => !Number.isNaN(Date.parse(b.at))));
  });
});
