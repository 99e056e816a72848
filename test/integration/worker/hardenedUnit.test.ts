// deploy/kiro-worker.service's hardening, measured and lived with: systemd-analyze scores
// the unit offline, and the worker runs a job through its real sandbox under the same
// restrictions, reproduced without systemd (which is not PID 1 here): a non-root user,
// no new privileges, no capabilities, everything read-only but the state folder
// (ProtectSystem=strict), a private /tmp and hidden home folders.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { jobRequest, makeTaskPr, stopProcess, workerEnv, WorkerClient } from '../../support/worker.js';

const UNIT = join(repoRoot, 'deploy', 'kiro-worker.service');
const NOBODY = 65534;

describe("the service unit's hardening (deploy/kiro-worker.service)", function () {
  this.timeout(60_000);

  it('scores 4.5 or better in systemd-analyze security, and sets none of the options that break bubblewrap', function () {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', UNIT], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for kiro-worker\.service: (\d+\.\d+)/.exec(out)?.[1]);
    assert.ok(score <= 4.5, `exposure ${score} (9.2 without the hardening)`);
    const set = readFileSync(UNIT, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Za-z]+=/.test(l))
      .map((l) => l.split('=')[0]);
    for (const option of ['NoNewPrivileges', 'ProtectSystem', 'PrivateTmp', 'ProtectHome', 'CapabilityBoundingSet', 'StateDirectory'])
      assert.ok(set.includes(option), `${option} is set`);
    // Each mounts over /proc, after which the kernel refuses the /proc bubblewrap mounts for an agent.
    for (const option of ['ProtectKernelTunables', 'ProtectKernelLogs', 'ProcSubset', 'RestrictNamespaces', 'ProtectControlGroups'])
      assert.ok(!set.includes(option), `${option} is not set`);
  });

  it('a job runs through the real sandbox as an unprivileged user with no new privileges, no capabilities and a read-only system', async function () {
    const gh = await GitHubStandIn.start();
    let child: ChildProcess | undefined;
    try {
      gh.addUser('alice');
      const bot = gh.addUser('kiro-bot');
      await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
      gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
      const state = await tempDir();
      chownSync(state, NOBODY, NOBODY);
      const env = { ...workerEnv(gh, bot.token, state, { KIRO_LOG_LEVEL: 'info' }), PATH: process.env.PATH ?? '', HOME: '/home/kiro' };
      // User=, NoNewPrivileges=, CapabilityBoundingSet= / AmbientCapabilities=, then ProtectSystem=strict,
      // StateDirectory=, PrivateTmp=, ProtectHome=, PrivateDevices= as mounts.
      child = spawn(
        'setpriv',
        [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          '--no-new-privs',
          '--bounding-set=-all',
          '--inh-caps=-all',
          'bwrap',
          '--ro-bind',
          '/',
          '/',
          '--dev',
          '/dev',
          '--proc',
          '/proc',
          '--tmpfs',
          '/tmp',
          '--tmpfs',
          '/home',
          '--tmpfs',
          '/root',
          '--ro-bind',
          repoRoot,
          repoRoot,
          '--bind',
          state,
          state,
          '--die-with-parent',
          '--chdir',
          repoRoot,
          process.execPath,
          'dist/worker/server.mjs',
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout?.on('data', (d) => (out += d));
      child.stderr?.on('data', (d) => (out += d));
      const url = await pollUntil(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], {
        timeoutMs: 20_000,
        what: `the hardened worker to listen: ${out}`,
      });
      const c = new WorkerClient(url);
      const health = (await (await c.request('GET', '/health')).json()) as { sandbox: { enabled: boolean; warning: string | null } };
      assert.equal(health.sandbox.enabled, true, JSON.stringify(health.sandbox));
      const pr = await makeTaskPr(gh, 'alice', 'app', 'hardened-1', 'Hardened');
      const { jobId } = await c.submit(jobRequest('alice', 'app', 'hardened-1', pr.number, 'Hardened'));
      const done = await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes'], 40_000);
      assert.equal(done.state, 'succeeded', `${JSON.stringify(done.error)}\n${out.slice(-3000)}`);
      const log = await (await c.request('GET', `/jobs/${jobId}/log`)).text();
      assert.match(log, /fake-kiro/, 'the agent ran (in its sandbox, inside the hardened service)');
      assert.equal(
        (await gh.model.repo('alice', 'app')!.bare.log('refs/heads/main..refs/heads/hardened-1')).length,
        2,
        'and its commit was pushed',
      );
    } finally {
      if (child) await stopProcess(child);
      await gh.close();
    }
  });
});
