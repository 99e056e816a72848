// The agent network's cost, all on loopback. egressProxyAddedMs: one request through
// the allow-list proxy the way an agent makes it (TCP to net-bridge on 127.0.0.1, the
// bridge's Unix socket to the egress proxy, its decision — the allow list, the forbidden
// addresses — and the tunnel to the server: CONNECT, then GET in the tunnel, a new
// connection each time as an HTTPS client's first request is) minus the same GET on a
// direct connection, alternating in one run, p50 difference. egressProxyAddedByNameMs:
// the same with a host name (the proxy resolves it: /etc/hosts here). egressSpawnAddedMs:
// what starting the bridge before the agent adds to a job's start (spawn → first output
// of /bin/echo with and without it, p50 difference); every network but `none` pays it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ForbiddenTargets } from '../worker-service/sandbox/egressPolicy.js';
import { startEgressProxy } from '../worker-service/sandbox/egressProxy.js';
import { tempDir } from '../test/support/helpers.js';
import { repoRoot } from '../test/support/paths.js';
import { percentile, round } from './stats.js';

const RUNS = Number(process.env.BENCH_EGRESS_RUNS ?? 300);
const SPAWNS = Number(process.env.BENCH_EGRESS_SPAWNS ?? 30);

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends `GET /` on `socket` (after `preamble` and its 200, when given) and resolves when the answer has come and the socket closed. */
function exchange(socket: net.Socket, preamble: string | null): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    let tunnelled = preamble === null;
    const get = () => socket.write('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n');
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
      if (!tunnelled && text.includes('\r\n\r\n')) {
        if (!text.startsWith('HTTP/1.1 200')) reject(new Error(`refused: ${text.split('\r\n')[0]}`));
        tunnelled = true;
        text = '';
        get();
      }
    });
    socket.on('error', reject);
    socket.on('close', () =>
      /^HTTP\/1\.1 200[^]*ok$/.test(text) ? resolve() : reject(new Error(`unexpected answer: ${text.slice(0, 80)}`)),
    );
    socket.on('connect', () => (preamble === null ? get() : socket.write(preamble)));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function firstOutput(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`exit ${code}`))));
  });
}

export async function benchEgress(): Promise<Record<string, number>> {
  const dir = await tempDir();
  const target = http.createServer((_req, res) => res.end('ok'));
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  const port = (target.address() as net.AddressInfo).port;
  // What a worker runs: its own port and a Redis among the forbidden destinations, checked at every request.
  const forbidden = new ForbiddenTargets({ workerPorts: () => [8080], redis: { host: '127.0.0.1', port: 6379 } });
  const socketPath = join(dir, 'egress.sock');
  const proxy = await startEgressProxy({
    socketPath,
    allow: [`127.0.0.1:${port}`, `localhost:${port}`, 'api.anthropic.com:443'],
    forbidden,
  });
  // The bridge as the build ships it (built here when dist/ is not).
  let bridge = join(repoRoot, 'dist/worker/net-bridge.mjs');
  if (!existsSync(bridge)) {
    bridge = join(dir, 'net-bridge.mjs');
    await build({
      entryPoints: [join(repoRoot, 'worker-service/sandbox/netBridge.ts')],
      outfile: bridge,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
  }
  const bridgePort = await freePort();
  const held = spawn(
    process.execPath,
    [bridge, String(bridgePort), socketPath, '--', process.execPath, '-e', 'setInterval(() => {}, 1000)'],
    { stdio: 'ignore' },
  );
  try {
    // Wait for the bridge to listen (bounded).
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = net.connect(bridgePort, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (up) break;
      if (i > 200) throw new Error('the bridge did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
    const direct: number[] = [];
    const proxied: number[] = [];
    const byName: number[] = [];
    const viaBridge = (host: string) =>
      exchange(net.connect(bridgePort, '127.0.0.1'), `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    // Warm-up: JIT, the first lookups.
    for (let i = 0; i < 20; i++) {
      await exchange(net.connect(port, '127.0.0.1'), null);
      await viaBridge('127.0.0.1');
      await viaBridge('localhost');
    }
    for (let i = 0; i < RUNS; i++) {
      direct.push(await timed(() => exchange(net.connect(port, '127.0.0.1'), null)));
      proxied.push(await timed(() => viaBridge('127.0.0.1')));
      byName.push(await timed(() => viaBridge('localhost')));
    }
    const spawnPlain: number[] = [];
    const spawnBridged: number[] = [];
    for (let i = 0; i < SPAWNS; i++) {
      spawnPlain.push(await timed(() => firstOutput(['/bin/echo', 'ready'])));
      const p = await freePort();
      spawnBridged.push(await timed(() => firstOutput([process.execPath, bridge, String(p), socketPath, '--', '/bin/echo', 'ready'])));
    }
    const p50 = (xs: number[]) => percentile(xs, 50);
    const egressProxyAddedMs = p50(proxied) - p50(direct);
    const egressProxyAddedByNameMs = p50(byName) - p50(direct);
    const egressSpawnAddedMs = p50(spawnBridged) - p50(spawnPlain);
    console.log(
      `egress: request p50 ${round(p50(direct), 2)} ms direct, ${round(p50(proxied), 2)} ms through bridge + proxy (${round(p50(byName), 2)} ms by name) over ${RUNS} runs -> added ${round(egressProxyAddedMs, 2)} ms (${round(egressProxyAddedByNameMs, 2)} ms by name); p95 added ${round(percentile(proxied, 95) - percentile(direct, 95), 2)} ms`,
    );
    console.log(
      `egress: spawn -> first output p50 ${round(p50(spawnPlain))} ms plain, ${round(p50(spawnBridged))} ms behind the bridge over ${SPAWNS} runs -> added ${round(egressSpawnAddedMs)} ms per job`,
    );
    return {
      egressProxyAddedMs: round(egressProxyAddedMs, 2),
      egressProxyAddedByNameMs: round(egressProxyAddedByNameMs, 2),
      egressSpawnAddedMs: round(egressSpawnAddedMs),
    };
  } finally {
    held.kill('SIGTERM');
    await proxy.close();
    await new Promise((r) => target.close(r));
    await rm(dir, { recursive: true, force: true });
  }
}
