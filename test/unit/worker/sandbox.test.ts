// The sandbox's pure parts: bwrap's argv from a layout, the sandbox settings,
// the agent's PATH, and the cgroup drivers on a stand-in cgroup tree.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bwrapArgs, sandboxedArgv, proxyEnv, SANDBOX_HOME, type SandboxLayout } from '../../../worker-service/sandbox/bwrapArgs.js';
import { execFileSync } from 'node:child_process';
import { cgroupV1, cgroupV2, delegateV2, detectCgroups, ownGroups } from '../../../worker-service/sandbox/cgroup.js';
import { agentPath } from '../../../worker-service/agent/command.js';
import { loadConfig } from '../../../worker-service/config.js';
import { SandboxRuntime } from '../../../worker-service/sandbox/sandbox.js';
import { tempDir } from '../../support/helpers.js';

const layout = (over: Partial<SandboxLayout> = {}): SandboxLayout => ({
  tree: '/var/lib/kiro/work/slot-0/o__r',
  gitDirs: ['/var/lib/kiro/repos/o/r.git'],
  home: '/var/lib/kiro/sandbox/job-1/home',
  hidden: [
    { path: '/var/lib/kiro', kind: 'dir' },
    { path: '/var/lib', kind: 'dir' },
    { path: '/etc/shadow', kind: 'file' },
    { path: '/tmp/x', kind: 'dir' },
  ],
  readPaths: ['/opt/agent'],
  tmpBytes: 1024,
  network: { mode: 'none' },
  ...over,
});

/** Pairs like ['--bind', src, dest] as "--bind src dest" strings, in order. */
function mounts(args: string[]): string[] {
  const out: string[] = [];
  const arity: Record<string, number> = {
    '--ro-bind': 2,
    '--bind': 2,
    '--ro-bind-try': 2,
    '--tmpfs': 1,
    '--remount-ro': 1,
    '--dev': 1,
    '--proc': 1,
  };
  for (let i = 0; i < args.length; i++) {
    const n = arity[args[i] ?? ''];
    if (n !== undefined) {
      out.push(args.slice(i, i + n + 1).join(' '));
      i += n;
    }
  }
  return out;
}

describe('sandbox argv (bwrapArgs)', () => {
  it('starts from a read-only root with its own /dev, /proc and /tmp, every namespace, no capabilities, and dies with the service', () => {
    const a = bwrapArgs(layout());
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session'])
      assert.ok(a.includes(flag), flag);
    assert.deepEqual(a.slice(a.indexOf('--cap-drop'), a.indexOf('--cap-drop') + 2), ['--cap-drop', 'ALL']);
    const m = mounts(a);
    assert.equal(m[0], '--ro-bind / /');
    assert.ok(m.includes('--dev /dev') && m.includes('--proc /proc') && m.includes('--tmpfs /tmp'));
    assert.deepEqual(a.slice(a.indexOf('--size'), a.indexOf('--size') + 3), ['--size', '1024', '--tmpfs']);
    assert.deepEqual(a.slice(-3), ['--chdir', '/var/lib/kiro/work/slot-0/o__r', '--']);
  });

  it("never shares the host's network: open, like allow, goes out through the egress proxy only", () => {
    const egress = { socket: '/s', bridge: '/b', node: '/usr/bin/node' };
    for (const network of [{ mode: 'none' as const }, { mode: 'open' as const }, { mode: 'allow' as const, hosts: [] }]) {
      const a = bwrapArgs(layout({ network, egress }));
      assert.ok(a.includes('--unshare-all') && !a.includes('--share-net'), network.mode);
      assert.equal(mounts(a).includes('--bind /s /run/kiro/egress.sock'), network.mode !== 'none', network.mode);
      assert.equal(proxyEnv(network).HTTPS_PROXY, network.mode === 'none' ? undefined : 'http://127.0.0.1:3128');
    }
    assert.throws(() => bwrapArgs(layout({ network: { mode: 'open' } })), /egress proxy/);
  });

  it("hides before it opens: covers come first, then the job's binds on top, then the covers go read-only", () => {
    const m = mounts(bwrapArgs(layout()));
    const at = (s: string) => m.indexOf(s);
    // /var/lib/kiro is inside /var/lib, and /tmp/x inside the private /tmp: one cover each is enough.
    assert.ok(at('--tmpfs /var/lib') > 0);
    assert.equal(at('--tmpfs /var/lib/kiro'), -1);
    assert.equal(at('--tmpfs /tmp/x'), -1);
    assert.ok(at('--ro-bind /dev/null /etc/shadow') > 0, 'a file is covered by /dev/null');
    const tree = '/var/lib/kiro/work/slot-0/o__r';
    assert.ok(
      at('--ro-bind /var/lib/kiro/repos/o/r.git /var/lib/kiro/repos/o/r.git') > at('--tmpfs /var/lib'),
      'git metadata read-only, over the cover',
    );
    assert.ok(at(`--bind ${tree} ${tree}`) > at('--tmpfs /var/lib'));
    assert.ok(
      at(`--ro-bind ${tree}/.git ${tree}/.git`) > at(`--bind ${tree} ${tree}`),
      "the worktree's .git file stays read-only inside the writable tree",
    );
    assert.ok(at(`--bind /var/lib/kiro/sandbox/job-1/home ${SANDBOX_HOME}`) > 0);
    assert.ok(at('--ro-bind-try /opt/agent /opt/agent') > 0);
    assert.ok(at('--remount-ro /var/lib') > at(`--ro-bind ${tree}/.git ${tree}/.git`), 'covers go read-only last');
    // Nothing else is writable: the only --bind sources are the tree and the home.
    assert.deepEqual(
      m.filter((x) => x.startsWith('--bind ')).map((x) => x.split(' ')[1]),
      [tree, '/var/lib/kiro/sandbox/job-1/home'],
    );
  });

  it('under allow: binds the bridge and the proxy socket, starts the bridge before the agent and sets the proxy variables', () => {
    const l = layout({
      network: { mode: 'allow', hosts: ['api.example.com'] },
      egress: { socket: '/var/lib/kiro/sandbox/egress.sock', bridge: '/opt/kd/dist/worker/net-bridge.mjs', node: '/usr/bin/node' },
    });
    const m = mounts(bwrapArgs(l));
    assert.ok(m.includes('--ro-bind /opt/kd/dist/worker/net-bridge.mjs /run/kiro/net-bridge.mjs'));
    assert.ok(m.includes('--bind /var/lib/kiro/sandbox/egress.sock /run/kiro/egress.sock'));
    assert.ok(!bwrapArgs(l).includes('--share-net'));
    assert.deepEqual(sandboxedArgv(l, ['kiro-cli', 'chat', 'x y']), [
      '/usr/bin/node',
      '/run/kiro/net-bridge.mjs',
      '3128',
      '/run/kiro/egress.sock',
      '--',
      'kiro-cli',
      'chat',
      'x y',
    ]);
    assert.equal(proxyEnv(l.network).HTTPS_PROXY, 'http://127.0.0.1:3128');
    assert.deepEqual(sandboxedArgv(layout(), ['a']), ['a']);
    assert.deepEqual(proxyEnv({ mode: 'none' }), {});
    assert.throws(() => bwrapArgs({ ...l, egress: undefined }), /egress proxy/);
  });

  it('brings node back read-only when it lives under a hidden path', () => {
    const l = layout({
      hidden: [{ path: '/root', kind: 'dir' }],
      network: { mode: 'allow', hosts: ['a.b'] },
      egress: { socket: '/s', bridge: '/b', node: '/root/.nvm/versions/node/v20/bin/node' },
    });
    assert.ok(mounts(bwrapArgs(l)).includes('--ro-bind /root/.nvm/versions/node/v20 /root/.nvm/versions/node/v20'));
  });
});

describe('sandbox settings', () => {
  const base = { KIRO_WORKER_STATE_DIR: '/tmp/s' };
  it("defaults: on, the agent's API hosts only, limits a normal agent never meets", () => {
    const s = loadConfig(base).sandbox;
    assert.equal(s.enabled, true);
    assert.deepEqual(s.network, {
      mode: 'allow',
      hosts: [
        'q.us-east-1.amazonaws.com:443',
        'codewhisperer.us-east-1.amazonaws.com:443',
        'q.eu-central-1.amazonaws.com:443',
        'codewhisperer.eu-central-1.amazonaws.com:443',
      ],
      default: true,
    });
    assert.deepEqual(loadConfig({ ...base, KIRO_AGENT_NETWORK: 'open' }).sandbox.network, { mode: 'open' });
    assert.equal(s.memoryBytes, 8192 * 1024 * 1024);
    assert.equal(s.maxProcesses, 1024);
    assert.equal(s.maxOutputBytes, 64 * 1024 * 1024);
    assert.equal(s.maxDiskBytes, 10240 * 1024 * 1024);
    assert.deepEqual(s.readPaths, []);
    assert.equal(s.homeTemplate, undefined);
  });
  it('parses off, none, allow:, paths and limits', () => {
    const s = loadConfig({
      ...base,
      KIRO_SANDBOX: 'off',
      KIRO_AGENT_NETWORK: 'allow:API.example.com, registry.npmjs.org:443',
      KIRO_AGENT_READ_PATHS: '/opt/a:/opt/b',
      KIRO_AGENT_HOME_TEMPLATE: '/etc/kiro/home',
      KIRO_AGENT_MEMORY_MB: '512',
      KIRO_AGENT_MAX_PROCS: '64',
      KIRO_AGENT_MAX_OUTPUT_MB: '2',
      KIRO_AGENT_MAX_DISK_MB: '100',
    }).sandbox;
    assert.equal(s.enabled, false);
    assert.deepEqual(s.network, { mode: 'allow', hosts: ['api.example.com', 'registry.npmjs.org:443'] });
    assert.deepEqual(s.readPaths, ['/opt/a', '/opt/b']);
    assert.equal(s.homeTemplate, '/etc/kiro/home');
    assert.deepEqual([s.memoryBytes, s.maxProcesses, s.maxOutputBytes, s.maxDiskBytes], [512 * 2 ** 20, 64, 2 * 2 ** 20, 100 * 2 ** 20]);
    assert.deepEqual(loadConfig({ ...base, KIRO_AGENT_NETWORK: 'none' }).sandbox.network, { mode: 'none' });
  });
  it('refuses bad values, naming the variable', () => {
    assert.throws(() => loadConfig({ ...base, KIRO_SANDBOX: 'maybe' }), /KIRO_SANDBOX/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_NETWORK: 'closed' }), /KIRO_AGENT_NETWORK/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_NETWORK: 'allow:' }), /KIRO_AGENT_NETWORK/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_NETWORK: 'allow:a.com,,b.com' }), /KIRO_AGENT_NETWORK.*empty/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_NETWORK: 'allow:a.com:99999' }), /KIRO_AGENT_NETWORK.*port/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_READ_PATHS: 'relative/dir' }), /KIRO_AGENT_READ_PATHS/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_HOME_TEMPLATE: 'home' }), /KIRO_AGENT_HOME_TEMPLATE/);
    assert.throws(() => loadConfig({ ...base, KIRO_AGENT_MAX_PROCS: '2' }), /KIRO_AGENT_MAX_PROCS/);
  });
});

describe("the agent's PATH", () => {
  it("is the host's without the service's node_modules/.bin (or npm's own helper folders)", () => {
    assert.equal(
      agentPath(
        '/opt/kd/node_modules/.bin:/usr/local/bin:/usr/bin:/opt/kd/sub/node_modules/.bin/:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/bin:',
      ),
      '/usr/local/bin:/usr/bin:/bin',
    );
  });
});

describe('cgroup drivers (on a stand-in cgroup tree)', () => {
  it("reads the service's own groups from /proc/self/cgroup", () => {
    assert.deepEqual(ownGroups('0::/system.slice/kiro.service\n'), { v2: '/system.slice/kiro.service', v1: {} });
    assert.deepEqual(ownGroups('8:pids:/\n4:memory:/a/b\n1:cpu,cpuacct:/\n0::/\n'), {
      v2: '/',
      v1: { pids: '/', memory: '/a/b', cpu: '/', cpuacct: '/' },
    });
  });

  it('v2: writes memory.max and pids.max, reports oom kills and refused forks from the event files', async () => {
    const parent = await tempDir();
    const g = await cgroupV2(parent).create('job-1', { memoryBytes: 1000, maxProcesses: 7 });
    assert.ok(g);
    const dir = join(parent, 'job-1');
    assert.equal(await readFile(join(dir, 'memory.max'), 'utf8'), '1000');
    assert.equal(await readFile(join(dir, 'pids.max'), 'utf8'), '7');
    assert.deepEqual(g.procsFiles, [join(dir, 'cgroup.procs')]);
    assert.equal(await g.violation(), null);
    await writeFile(join(dir, 'pids.events'), 'max 3\n');
    assert.equal(await g.violation(), 'processes');
    await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
    assert.equal(await g.violation(), 'memory');
  });

  it('v1: one group under memory and one under pids', async () => {
    const root = await tempDir();
    const g = await cgroupV1(join(root, 'memory'), join(root, 'pids')).create('job-2', { memoryBytes: 2048, maxProcesses: 9 });
    assert.ok(g);
    assert.equal(await readFile(join(root, 'memory', 'job-2', 'memory.limit_in_bytes'), 'utf8'), '2048');
    assert.equal(await readFile(join(root, 'pids', 'job-2', 'pids.max'), 'utf8'), '9');
    assert.equal(g.procsFiles.length, 2);
    await writeFile(join(root, 'memory', 'job-2', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    assert.equal(await g.violation(), 'memory');
  });

  it('v2 delegation: moves the service into a leaf, enables memory and pids below its group, and job groups get them', async () => {
    const root = await tempDir();
    const svc = join(root, 'svc');
    await mkdir(svc, { recursive: true });
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    const self = join(root, 'self-cgroup');
    await writeFile(self, '0::/svc\n');
    await writeFile(join(svc, 'cgroup.controllers'), 'cpu\n');
    assert.equal((await detectCgroups(root, self)).kind, 'none', 'a group without memory and pids is no use');
    await writeFile(join(svc, 'cgroup.controllers'), 'cpu memory pids\n');
    await writeFile(join(svc, 'cgroup.procs'), '4242\n');
    assert.equal(await delegateV2(svc, 4242), join(svc, 'kiro-jobs'));
    assert.equal(await readFile(join(svc, 'service', 'cgroup.procs'), 'utf8'), '4242', 'the service moved into its leaf');
    assert.equal(await readFile(join(svc, 'cgroup.subtree_control'), 'utf8'), '+memory +pids');
    const driver = await detectCgroups(root, self);
    assert.equal(driver.kind, 'v2');
    await driver.create('job-9', { memoryBytes: 5, maxProcesses: 6 });
    assert.equal(await readFile(join(svc, 'kiro-jobs', 'cgroup.subtree_control'), 'utf8'), '+memory +pids');
    assert.equal(await readFile(join(svc, 'kiro-jobs', 'job-9', 'pids.max'), 'utf8'), '6');
  });

  it("on this host (and CI's): a writable cgroup is found, and a process joins it through its procs files", async function () {
    const driver = await detectCgroups();
    assert.notEqual(driver.kind, 'none', 'no writable cgroup: agents here would fall back to rlimits (RLIMIT_NPROC does not bind root)');
    const g = await driver.create(`unit-${process.pid}`, { memoryBytes: 64 * 1024 * 1024, maxProcesses: 16 });
    assert.ok(g);
    try {
      const out = execFileSync('/bin/sh', ['-c', 'for f; do echo $$ > "$f"; done; cat /proc/self/cgroup', 'sh', ...g.procsFiles], {
        encoding: 'utf8',
      });
      assert.match(out, new RegExp(`unit-${process.pid}`));
    } finally {
      await g.destroy();
    }
  });
});

describe('a job whose cgroup cannot be made', () => {
  it('still runs, under rlimits, and the operator hears why (log and /health) until a cgroup is made again', async () => {
    const state = await tempDir();
    let failing = true;
    const warnings: string[] = [];
    const sandbox = new SandboxRuntime({
      config: loadConfig({ KIRO_WORKER_STATE_DIR: state, KIRO_AGENT_NETWORK: 'none' }),
      onWarning: (m) => warnings.push(m),
      cgroups: {
        kind: 'v1',
        create: async () => {
          if (failing) throw new Error('EACCES: permission denied, mkdir /sys/fs/cgroup/memory/kiro/job-a');
          return { procsFiles: [], violation: async () => null, destroy: async () => undefined };
        },
      },
    });
    await sandbox.init(); // probes bwrap, takes the cgroup driver
    const job = (id: string) => ({ id, tree: state, gitDirs: [], agentPath: '/bin/true', agentArgv: ['/bin/true'], env: {} });
    const a = await sandbox.prepare(job('a'));
    assert.ok(a.argv.some((x) => x.startsWith('--as=')) && a.argv.some((x) => x.startsWith('--nproc=')), 'rlimits stand in');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /job a could not be made \(EACCES/);
    assert.match(sandbox.status().warning ?? '', /job a could not be made/);
    failing = false;
    const b = await sandbox.prepare(job('b'));
    assert.ok(!b.argv.some((x) => x.startsWith('--as=')), 'a cgroup again: no address-space limit');
    assert.equal(sandbox.status().warning, null);
  });
});
