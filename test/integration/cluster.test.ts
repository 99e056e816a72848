// The README's `npm run cluster`: a private redis-server, the GitHub stand-in and three
// worker hosts on loopback; `npm run demo -- --worker-url …` delegates to one of them;
// SIGTERM leaves no process and no temporary folder behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import type { PoolHealth } from '../../shared/protocol.js';
import { redisCommand, redisPing } from '../../scripts/support/redis.js';
import { repoRoot } from '../support/paths.js';
import { pollUntil, tempDir } from '../support/helpers.js';

/** What a script left in its TMPDIR (tsx's own compile cache aside). */
const leftovers = async (dir: string) => (await readdir(dir)).filter((n) => !n.startsWith('tsx-'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function script(args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('npm run cluster', function () {
  this.timeout(120_000);
  let tmp: string;
  let cluster: Run;
  let token = '';
  let hosts: { id: string; url: string; pid: number; stateDir: string }[] = [];

  before(async function () {
    tmp = await tempDir();
    cluster = script(['scripts/cluster.ts'], { TMPDIR: tmp });
    await pollUntil(() => cluster.output().includes('Ctrl-C stops it all') || cluster.child.exitCode !== null, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: `the cluster to be ready: ${cluster.output()}`,
    });
    assert.equal(cluster.child.exitCode, null, cluster.output());
    token = /token (\S+)\n/.exec(/Worker hosts .*\n/.exec(cluster.output())?.[0] ?? '')?.[1] ?? '';
    hosts = [...cluster.output().matchAll(/^ {2}(host-\w) {2}(http:\/\/127\.0\.0\.1:\d+) {2}pid (\d+) {2}state in (\S+)$/gm)].map((m) => ({
      id: m[1] ?? '',
      url: m[2] ?? '',
      pid: Number(m[3]),
      stateDir: m[4] ?? '',
    }));
  });

  after(async function () {
    if (cluster?.child.exitCode === null) {
      cluster.child.kill('SIGTERM');
      await cluster.exited;
    }
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('runs its own redis-server on a free loopback port, append-only, never evicting', async function () {
    const m = /Redis +(redis:\/\/127\.0\.0\.1:\d+\/0) \(private: pid (\d+), append-only file in (\S+),/.exec(cluster.output());
    assert.ok(m, cluster.output());
    const [, url = '', pid = '', dir = ''] = m;
    const port = Number(new URL(url).port);
    assert.notEqual(port, 6379, "never the system service's port");
    assert.ok(await redisPing(port));
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'redis-server\n');
    // A two-element array reply: five CRLFs.
    const config = (name: string) => redisCommand(port, `CONFIG GET ${name}`, (r) => (r.match(/\r\n/g) ?? []).length >= 5);
    assert.match(await config('maxmemory-policy'), /\r\nnoeviction\r\n$/);
    assert.match(await config('appendonly'), /\r\nyes\r\n$/);
    assert.match(await config('save'), /\r\n\$0\r\n\r\n$/, 'no RDB snapshots');
    assert.match(await config('bind'), /\r\n127\.0\.0\.1\r\n$/);
    assert.ok(dir.startsWith(tmp), `its files under the temporary folder: ${dir}`);
    assert.ok(
      (await readdir(dir)).some((n) => n.startsWith('appendonly')),
      'the append-only file is there',
    );
  });

  it('starts three hosts, each with its own port and state folder, all taking the one printed token', async function () {
    assert.deepEqual(
      hosts.map((h) => h.id),
      ['host-a', 'host-b', 'host-c'],
      cluster.output(),
    );
    assert.equal(new Set(hosts.map((h) => h.url)).size, 3);
    assert.equal(new Set(hosts.map((h) => h.stateDir)).size, 3);
    assert.ok(token.length >= 16, `a token the worker accepts: ${token}`);
    for (const h of hosts) {
      assert.ok(h.stateDir.startsWith(tmp), h.stateDir);
      assert.equal((await fetch(`${h.url}/health`)).status, 401, `${h.id} wants the token`);
      const res = await fetch(`${h.url}/health`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `${h.id}: ${await res.clone().text()}`);
      const health = (await res.json()) as PoolHealth;
      assert.equal(health.slots.filter((s) => !s.host || s.host === h.id).length, 2, `${h.id} has 2 slots of its own`);
    }
  });

  it('the hosts form one fleet: every host lists host-a, host-b and host-c', async function () {
    assert.match(cluster.output(), /Every host sees host-a, host-b, host-c/);
    for (const h of hosts) {
      const health = (await (await fetch(`${h.url}/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as PoolHealth;
      assert.equal(health.queue, 'redis');
      assert.deepEqual(health.hosts?.map((x) => x.id).sort(), ['host-a', 'host-b', 'host-c'], h.id);
      assert.equal(health.capacity, 6, `${h.id}: the fleet's capacity`);
    }
  });

  it("npm run demo -- --worker-url delegates to a running host, through the cluster's GitHub stand-in", async function () {
    const line = /npm run demo -- (--worker-url \S+ --worker-token \S+ --github-url \S+)/.exec(cluster.output())?.[1];
    assert.ok(line, cluster.output());
    const demo = script(['scripts/demo.ts', '--once', ...line.split(' ')], { TMPDIR: tmp });
    assert.equal(await demo.exited, 0, demo.output());
    assert.match(demo.output(), /Kiro worker +http:\/\/127\.0\.0\.1:\d+ \(already running, with the token given\)/);
    assert.match(demo.output(), /Kiro pushed code to PR #\d+/);
    assert.match(demo.output(), /feat: Implement the login function \(Kiro Agent\)/);
    // Whichever host ran it (in a fleet, not necessarily the one that took the request) says so, with its name.
    await pollUntil(() => /\[host-[abc]\] job ended .*"state":"succeeded"/.test(cluster.output()), {
      timeoutMs: 10_000,
      what: `a host to log the job's end: ${cluster.output()}`,
    });
    assert.deepEqual(
      (await leftovers(tmp)).filter((n) => n.startsWith('kiro-demo-')),
      [],
      'the demo removed its folders',
    );
  });

  it('SIGTERM drains the hosts, stops Redis and the stand-in, and removes every temporary folder', async function () {
    const redisPid = Number(/private: pid (\d+)/.exec(cluster.output())?.[1]);
    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0, cluster.output());
    assert.match(cluster.output(), /SIGTERM: stopping the cluster/);
    assert.match(
      cluster.output(),
      /Cluster stopped: Redis, the GitHub stand-in, host-a, host-b and host-c are down; removed .*kiro-cluster-/,
    );
    for (const pid of [redisPid, ...hosts.map((h) => h.pid)]) assert.equal(alive(pid), false, `pid ${pid} is gone`);
    assert.deepEqual(await leftovers(tmp), [], 'no temporary folder left behind');
  });

  it('says how to install redis-server when it is missing, and leaves nothing behind', async function () {
    const dir = await tempDir();
    try {
      const run = script(['scripts/cluster.ts'], { TMPDIR: dir, PATH: '/nonexistent' });
      assert.equal(await run.exited, 1, run.output());
      assert.match(run.output(), /redis-server is not installed: apt-get install redis-server/);
      assert.deepEqual(await leftovers(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
