// A private redis-server for `npm run cluster` (and its test): on a free loopback port,
// its append-only file in a folder of ours, never evicting (BullMQ needs that), in its
// own process group; never the system's Redis service.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../test/e2e/support/codeServer.js';
import { pollUntil } from '../../test/support/helpers.js';
import { stopChild } from './lifecycle.js';

/**
 * Sends one inline command to the Redis on this port (no client library needed) and
 * resolves with the raw reply once `complete(reply)` holds; with '' on an error or after 1 s.
 */
export function redisCommand(
  port: number,
  command: string,
  complete: (reply: string) => boolean = (r) => r.endsWith('\r\n'),
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (r: string) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(1000, () => done(''));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (complete(reply)) done(reply);
    });
    socket.on('error', () => done(''));
  });
}

/** True when a Redis on this port answers PING with PONG. */
export const redisPing = async (port: number): Promise<boolean> => (await redisCommand(port, 'PING')).startsWith('+PONG');

export interface RedisServer {
  child: ChildProcess;
  port: number;
  url: string;
}

/** redis-server on a free loopback port, its append-only file in `dir`, never evicting (BullMQ needs that). */
export async function startRedis(dir: string, fixedPort?: number): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    // A fixed port: the same server again (a restart its clients reconnect to).
    const port = fixedPort ?? (await freePort());
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (spawnError?.code === 'ENOENT')
      throw new Error(
        'redis-server is not installed: apt-get install redis-server (the cluster starts its own on a free loopback port; it never uses the system service)',
      );
    if (spawnError) throw spawnError;
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    const outcome = await pollUntil(async () => (gone() ? 'exited' : (await redisPing(port)) && 'ready'), {
      timeoutMs: 15_000,
      intervalMs: 50,
    }).catch(() => 'timed out' as const);
    if (outcome === 'ready') return { child, port, url: `redis://127.0.0.1:${port}/0` };
    if (!gone()) await stopChild(child, 2000);
    // Another process took the port between freePort() and redis-server's bind: try another.
    if (/address already in use/i.test(out) && attempt < 3 && fixedPort === undefined) continue;
    throw new Error(
      `redis-server on port ${port} ${outcome === 'exited' ? `exited (${child.exitCode ?? child.signalCode})` : 'did not answer PING within 15 s'}:\n${out.trim()}`,
    );
  }
}
