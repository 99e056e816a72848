// Hostile agents against the real worker and the real sandbox (bubblewrap, the
// job's control group, the egress proxy). Every attack runs while a normal job
// of another repository runs on the other slot; the attack must fail, the
// neighbour must succeed untouched, and the next job on the attacked slot must
// succeed. What the agent reports is checked against the host's own view.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil } from '../../support/helpers.js';
import { hostileAgentPath, repoRoot } from '../../support/paths.js';
import { startWorker, workerEnv, WorkerClient, makeTaskPr, jobRequest, type TestWorker } from '../../support/worker.js';
import type { HostilePlan } from '../../support/agent/hostileAgent.js';
import type { JobStatus } from '../../../shared/protocol.js';

interface Report {
  attempt: string;
  ok: boolean;
  detail: string;
}

interface AttackResult {
  hostile: JobStatus;
  neighbour: JobStatus;
  next: JobStatus;
  reports: Report[];
  log: string;
  plan: HostilePlan;
}

/** Host processes whose command line holds `marker` (what the host sees, not what the sandbox says). */
function hostProcessesWith(marker: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('sandbox: hostile agents on the real worker', function () {
  this.timeout(90_000);
  let gh: GitHubStandIn;
  let bot: { token: string };
  let seq = 0;
  const servers: Server[] = [];
  const stateDirs: string[] = [];

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    bot = gh.addUser('kiro-bot');
    for (const repo of ['app', 'other']) {
      await gh.createRepo('alice', repo, { files: [{ path: 'README.md', contents: `# ${repo}\n` }] });
      gh.grant('alice', repo, 'kiro-bot', 'WRITE');
    }
  });
  after(async () => {
    for (const s of servers) s.close();
    await gh.close();
    for (const d of stateDirs) await rm(d, { recursive: true, force: true });
  });

  async function httpServer(name: string): Promise<{ url: string; hits: string[] }> {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end(`hello from ${name}`);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/probe`, hits };
  }

  const LIMITS = { KIRO_AGENT_MAX_PROCS: '96', KIRO_AGENT_MEMORY_MB: '256', KIRO_AGENT_MAX_DISK_MB: '48', KIRO_AGENT_MAX_OUTPUT_MB: '1' };

  async function startHostileWorker(extra: Record<string, string>): Promise<TestWorker> {
    // Not under /tmp, as in production (/var/lib/…): the sandbox's private /tmp would cover it anyway.
    const stateDir = await mkdtemp('/var/tmp/kiro-hostile-');
    stateDirs.push(stateDir);
    const env = workerEnv(gh, bot.token, stateDir, {
      KIRO_AGENT_COMMAND: JSON.stringify([hostileAgentPath, 'chat', '{prompt}']),
      KIRO_SLOT_RESTART_MS: '100',
      KIRO_KILL_GRACE_MS: '300',
      KIRO_JOB_TIMEOUT_MS: '45000',
      ...LIMITS,
      ...extra,
    });
    return startWorker(env, { agentEnv: { FAKE_KIRO_STEP_MS: '5' } });
  }

  async function withWorker(extra: Record<string, string>, fn: (w: TestWorker, c: WorkerClient) => Promise<void>): Promise<void> {
    const w = await startHostileWorker(extra);
    try {
      await fn(w, new WorkerClient(w.url));
    } finally {
      await w.close();
    }
  }

  /** Neighbour (held) on alice/other, the hostile job on alice/app, then a normal job on the hostile job's slot. */
  async function attack(w: TestWorker, c: WorkerClient, attacks: string[], extra: Partial<HostilePlan> = {}): Promise<AttackResult> {
    const n = ++seq;
    const nb = `neighbour-${n}-${Date.now()}`;
    const npr = await makeTaskPr(gh, 'alice', 'other', nb, `Neighbour ${n}`, '\n[scenario: hold]');
    const neighbour = await c.submit(jobRequest('alice', 'other', nb, npr.number, `Neighbour ${n}`));
    const running = await c.waitFor(neighbour.jobId, ['running']);
    const agentPid = await pollUntil(() => w.queue.jobs.get(neighbour.jobId)?.agentPid ?? undefined, { what: 'the neighbour agent pid' });
    const slot = running.slotId ?? 0;
    const plan: HostilePlan = {
      attacks,
      stateDir: w.config.stateDir,
      other: {
        jobId: neighbour.jobId,
        tree: w.queue.workspaces.slotDir(slot, 'alice', 'other'),
        mirror: w.queue.workspaces.mirrorDir('alice', 'other'),
        agentPid,
      },
      ownMirror: w.queue.workspaces.mirrorDir('alice', 'app'),
      serviceDir: repoRoot,
      marker: `kiro-hostile-marker-${n}-${Date.now()}`,
      ...extra,
    };
    const hb = `hostile-${n}-${Date.now()}`;
    const hpr = await makeTaskPr(
      gh,
      'alice',
      'app',
      hb,
      `Hostile ${n}`,
      `\n[hostile: ${Buffer.from(JSON.stringify(plan)).toString('base64')}]`,
    );
    const h = await c.submit(jobRequest('alice', 'app', hb, hpr.number, `Hostile ${n}`));
    const hostile = await c.waitFor(h.jobId, ['succeeded', 'failed', 'no-changes', 'timed-out'], 60_000);
    // The next job goes to the attacked slot: the neighbour still holds the other one.
    const xb = `after-${n}-${Date.now()}`;
    const xpr = await makeTaskPr(gh, 'alice', 'app', xb, `After ${n}`);
    const x = await c.submit(jobRequest('alice', 'app', xb, xpr.number, `After ${n}`));
    const next = await c.waitFor(x.jobId, ['succeeded', 'failed', 'no-changes', 'timed-out'], 30_000);
    // Let the neighbour finish.
    writeFileSync(join(plan.other.tree, 'GO'), '');
    const nDone = await c.waitFor(neighbour.jobId, ['succeeded', 'failed', 'no-changes', 'timed-out'], 30_000);
    const log = readFileSync(join(w.config.stateDir, 'logs', `${h.jobId}.log`), 'utf8');
    const reports = [...log.matchAll(/^HOSTILE (\{.*\})\r?$/gm)].map((m) => JSON.parse(m[1] ?? '{}') as Report);

    assert.equal(nDone.state, 'succeeded', `the neighbour job must run normally: ${JSON.stringify(nDone.error)}`);
    const other = gh.model.repo('alice', 'other');
    assert.match((await other?.bare.readFile(`refs/heads/${nb}`, 'kiro/IMPLEMENTATION.md')) ?? '', new RegExp(`Neighbour ${n}`));
    assert.equal(await other?.bare.readFile(`refs/heads/${nb}`, 'pwned'), null, "nothing planted in the neighbour's tree");
    assert.equal(next.state, 'succeeded', `the next job on the attacked slot must succeed: ${JSON.stringify(next.error)}`);
    assert.equal(next.slotId, hostile.slotId, 'the next job ran on the attacked slot');
    return { hostile, neighbour: nDone, next, reports, log, plan };
  }

  function report(r: AttackResult, attempt: string): Report {
    const found = r.reports.find((x) => x.attempt === attempt);
    assert.ok(found, `the agent tried "${attempt}"; log:\n${r.log.slice(-2000)}`);
    return found;
  }

  describe("KIRO_AGENT_NETWORK unset (the default: the preset's API hosts, none for this custom agent)", function () {
    let w: TestWorker;
    let c: WorkerClient;
    before(async () => {
      w = await startHostileWorker({ KIRO_AGENT_NETWORK: '' });
      c = new WorkerClient(w.url);
    });
    after(async () => w?.close());

    it('reports the sandbox in /health', async function () {
      const h = (await (await c.request('GET', '/health')).json()) as {
        sandbox?: { enabled: boolean; limits: string; network: string; warning: string | null };
      };
      assert.equal(h.sandbox?.enabled, true);
      assert.equal(h.sandbox?.network, 'allow: no host (default)');
      assert.match(h.sandbox?.limits ?? '', /^(cgroup-v1|cgroup-v2|rlimit)$/);
    });

    it("cannot read another job's record, log, working tree or mirror, the state directory, the service's home or /etc/shadow", async function () {
      const r = await attack(w, c, ['read']);
      assert.equal(r.hostile.state, 'succeeded');
      for (const a of [
        "read another job's record",
        "read another job's log",
        "read another job's working tree",
        'list the state directory',
        "read another repository's mirror",
        "read the service's home",
        'read /etc/shadow',
      ]) {
        assert.equal(report(r, a).ok, false, `${a}: ${report(r, a).detail}`);
      }
      assert.doesNotMatch(
        r.log,
        new RegExp(r.neighbour.jobId),
        'nothing of the neighbour job reached the hostile log but its id in the plan',
      );
    });

    it("cannot write into the state directory, another slot's tree, the mirror's refs, objects, config or hooks, /etc or the service's folder", async function () {
      const mirrorConfig = readFileSync(join(w.queue.workspaces.mirrorDir('alice', 'app'), 'config'), 'utf8');
      const r = await attack(w, c, ['write']);
      for (const rep of r.reports.filter(
        (x) => x.attempt.startsWith('write into') || x.attempt.startsWith('change') || x.attempt.startsWith('repoint'),
      )) {
        assert.equal(rep.ok, false, `${rep.attempt} must fail`);
      }
      assert.equal(report(r, 'write its own tree').ok, true, 'the agent can still write its own tree');
      // The host's view: nothing landed anywhere.
      const { stateDir, other, ownMirror, serviceDir } = r.plan;
      for (const p of [
        join(stateDir, 'pwned'),
        join(stateDir, 'jobs', 'pwned.json'),
        join(other.tree, 'pwned'),
        join(ownMirror, 'refs', 'heads', 'pwned'),
        join(ownMirror, 'objects', 'pwned'),
        join(ownMirror, 'hooks', 'pre-push'),
        '/etc/pwned',
        join(serviceDir, 'pwned'),
      ]) {
        assert.equal(existsSync(p), false, `${p} must not exist`);
      }
      assert.equal(readFileSync(join(ownMirror, 'config'), 'utf8'), mirrorConfig, 'the mirror config is unchanged');
      assert.equal(r.hostile.state, 'succeeded', 'its own change is pushed');
      const app = gh.model.repo('alice', 'app');
      assert.equal(await app?.bare.readFile(`refs/heads/${r.hostile.branch}`, 'allowed.txt'), 'mine\n');
    });

    it('still runs git status, diff and log in its tree, but cannot commit into the mirror', async function () {
      const r = await attack(w, c, ['git']);
      for (const a of ['git status works', 'git diff works', 'git log works'])
        assert.equal(report(r, a).ok, true, `${a}: ${report(r, a).detail}`);
      assert.match(report(r, 'git log works').detail, /Hostile/);
      assert.equal(report(r, 'git commit').ok, false);
    });

    it("sees only its own processes and cannot signal the other job's agent", async function () {
      const r = await attack(w, c, ['procs']);
      assert.equal(report(r, 'see processes outside the sandbox').ok, false, report(r, 'see processes outside the sandbox').detail);
      assert.equal(report(r, "signal the other job's agent").ok, false);
    });

    it("cannot read the service's environment through /proc", async function () {
      const r = await attack(w, c, ['environ']);
      assert.equal(report(r, 'read service secrets from /proc/*/environ').ok, false);
      const env = Buffer.from(/^ENVIRON (\S*)\r?$/m.exec(r.log)?.[1] ?? '', 'base64').toString('utf8');
      assert.ok(env.includes('KIRO_DELEGATE=1'), 'it did read its own environment');
      for (const secret of [bot.token, w.config.token ?? '']) assert.equal(env.includes(secret), false, 'a service secret is visible');
    });

    it('a fork bomb meets the process limit: the job fails with PROCESS_LIMIT and the host is fine', async function () {
      const r = await attack(w, c, ['forkbomb']);
      assert.equal(r.hostile.state, 'failed');
      assert.equal(r.hostile.error?.code, 'PROCESS_LIMIT', JSON.stringify(r.hostile.error));
    });

    it('allocating past the memory limit fails the job with MEMORY_LIMIT', async function () {
      const r = await attack(w, c, ['memory']);
      assert.equal(r.hostile.state, 'failed');
      assert.equal(r.hostile.error?.code, 'MEMORY_LIMIT', JSON.stringify(r.hostile.error));
      assert.equal(
        r.reports.some((x) => x.attempt === 'allocate 4 GiB'),
        false,
      );
    });

    it('filling the disk past the limit fails the job with DISK_LIMIT and pushes nothing', async function () {
      const r = await attack(w, c, ['disk']);
      assert.equal(r.hostile.state, 'failed');
      assert.equal(r.hostile.error?.code, 'DISK_LIMIT', JSON.stringify(r.hostile.error));
      assert.equal(r.hostile.commitSha, null);
      const app = gh.model.repo('alice', 'app');
      assert.equal(await app?.bare.readFile(`refs/heads/${r.hostile.branch}`, 'fill/f0'), null);
    });

    it('printing past the output limit fails the job with OUTPUT_LIMIT', async function () {
      const r = await attack(w, c, ['output']);
      assert.equal(r.hostile.state, 'failed');
      assert.equal(r.hostile.error?.code, 'OUTPUT_LIMIT', JSON.stringify(r.hostile.error));
    });

    it('leaves no background process behind after it exits', async function () {
      const r = await attack(w, c, ['background']);
      assert.equal(r.hostile.state, 'succeeded');
      assert.equal(report(r, 'left a background process').ok, true, 'the agent did start one inside');
      assert.deepEqual(hostProcessesWith(r.plan.marker), [], 'no process of the sandbox is left on the host');
    });

    it("a nested repository with a hostile config: the service's git never looks into it and never pushes it", async function () {
      const hostProbe = `/tmp/kiro-nested-probe-${Date.now()}`;
      const r = await attack(w, c, ['nested'], { hostProbe });
      assert.equal(report(r, 'make a nested repository').ok, true, report(r, 'make a nested repository').detail);
      assert.equal(r.hostile.state, 'succeeded', JSON.stringify(r.hostile.error));
      assert.equal(existsSync(hostProbe), false, "the nested repository's fsmonitor never ran on the host");
      const app = gh.model.repo('alice', 'app');
      const entries = execFileSync('git', ['ls-tree', '-r', `refs/heads/${r.hostile.branch}`], { cwd: app?.bare.dir, encoding: 'utf8' });
      assert.doesNotMatch(entries, /^160000 /m, 'no gitlink was pushed');
      assert.match(entries, /\thostile\.txt$/m, 'the rest of the work was');
    });

    it('a planted symlink is pushed as a link: the service never follows it out of the tree', async function () {
      const r = await attack(w, c, ['symlink']);
      assert.equal(r.hostile.state, 'succeeded');
      const app = gh.model.repo('alice', 'app');
      const branch = `refs/heads/${r.hostile.branch}`;
      const entries = execFileSync('git', ['ls-tree', '-r', branch], { cwd: app?.bare.dir, encoding: 'utf8' });
      assert.match(entries, /^120000 blob \S+\tleak-record$/m, 'leak-record is a symlink entry');
      assert.match(entries, /^120000 blob \S+\tleak-state$/m);
      assert.equal(
        await app?.bare.readFile(branch, 'leak-record'),
        join(r.plan.stateDir, 'jobs', `${r.neighbour.jobId}.json`),
        'its content is the link target, not the record',
      );
      assert.equal(await app?.bare.readFile(branch, 'leak-hostname'), '/etc/hostname');
      // No regular file on the branch holds anything the links pointed at.
      for (const line of entries
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('100644'))) {
        const path = line.split('\t')[1] ?? '';
        assert.doesNotMatch(
          (await app?.bare.readFile(branch, path)) ?? '',
          new RegExp(`${r.neighbour.jobId}|Neighbour`),
          `${path} leaks the neighbour's record`,
        );
      }
    });
  });

  describe('KIRO_AGENT_HOME_TEMPLATE and KIRO_AGENT_READ_PATHS', function () {
    it('each job gets a fresh writable copy of the template HOME; read paths are visible and read-only', async function () {
      const template = await mkdtemp('/var/tmp/kiro-template-');
      const shared = await mkdtemp('/var/tmp/kiro-readpath-');
      stateDirs.push(template, shared);
      await mkdir(join(template, '.agentrc'), { recursive: true });
      writeFileSync(join(template, '.agentrc', 'config.toml'), 'model = "scripted"\n');
      writeFileSync(join(shared, 'toolchain.txt'), 'shared toolchain\n');
      await withWorker({ KIRO_AGENT_HOME_TEMPLATE: template, KIRO_AGENT_READ_PATHS: `${repoRoot}:${shared}` }, async (w, c) => {
        const readPathFile = join(shared, 'toolchain.txt');
        const first = await attack(w, c, ['home'], { readPathFile });
        assert.equal(report(first, 'read its configuration from the template HOME').detail, 'model = "scripted"\n');
        assert.equal(report(first, 'find a file an earlier job left in HOME').ok, false);
        assert.equal(report(first, 'write in its HOME').ok, true);
        assert.equal(report(first, 'write in its /tmp').ok, true);
        assert.equal(report(first, 'read a file under KIRO_AGENT_READ_PATHS').detail, 'shared toolchain\n');
        assert.equal(report(first, 'write under KIRO_AGENT_READ_PATHS').ok, false);
        const second = await attack(w, c, ['home'], { readPathFile });
        assert.equal(report(second, 'find a file an earlier job left in HOME').ok, false, 'HOME is thrown away after each job');
        // The host's view: the template and the read path are as the operator left them, the job's HOME is gone.
        assert.deepEqual(readdirSync(template), ['.agentrc']);
        assert.equal(readFileSync(readPathFile, 'utf8'), 'shared toolchain\n');
        assert.equal(existsSync(join(w.config.stateDir, 'sandbox', first.hostile.jobId)), false);
      });
    });
  });

  describe('KIRO_AGENT_NETWORK=none', function () {
    it('cannot reach a server on the host or resolve a name', async function () {
      const probe = await httpServer('probe');
      await withWorker({ KIRO_AGENT_NETWORK: 'none' }, async (w, c) => {
        const r = await attack(w, c, ['net'], { probeUrl: probe.url });
        assert.equal(report(r, 'reach a host server directly').ok, false);
        assert.equal(report(r, 'resolve a public name').ok, false);
        assert.deepEqual(probe.hits, [], 'the host server saw nothing');
        // A normal job still works without a network: the service fetches and pushes, not the agent.
        assert.equal(r.next.state, 'succeeded');
      });
    });
  });

  describe('KIRO_AGENT_NETWORK=allow:<host>', function () {
    it('reaches the listed host through the proxy and nothing else', async function () {
      const allowed = await httpServer('allowed');
      const denied = await httpServer('denied');
      const allowedHost = new URL(allowed.url).host;
      await withWorker({ KIRO_AGENT_NETWORK: `allow:${allowedHost}` }, async (w, c) => {
        const h = (await (await c.request('GET', '/health')).json()) as { sandbox?: { network: string; allowHosts?: string[] } };
        assert.equal(h.sandbox?.network, `allow: ${allowedHost}`);
        assert.deepEqual(h.sandbox?.allowHosts, [allowedHost]);
        const r = await attack(w, c, ['proxy'], { allowedUrl: allowed.url, deniedUrl: denied.url });
        const ok = report(r, 'reach the allowed host through the proxy');
        assert.equal(ok.ok, true, ok.detail);
        assert.match(ok.detail, /hello from allowed/);
        assert.equal(report(r, 'reach a host off the list through the proxy').ok, false);
        assert.match(report(r, 'reach a host off the list through the proxy').detail, /403/);
        assert.equal(report(r, 'plain HTTP to a host off the list').ok, false);
        assert.equal(report(r, 'reach a host off the list directly').ok, false);
        assert.deepEqual(denied.hits, [], 'the refused server saw nothing');
        assert.deepEqual(allowed.hits, ['/probe']);
      });
    });
  });
});
