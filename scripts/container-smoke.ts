// The container smoke test (npm run test:container builds the image, then runs this):
//   tsx scripts/container-smoke.ts <podman|docker> <image>
// Starts the image on the host's network next to a GitHub stand-in on loopback, with the
// scripted agent, checks the image's HEALTHCHECK, that it runs as a non-root user with the
// sandbox on, passes one job through to a pushed commit, and stops it with a drain.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { GitHubStandIn } from '../test/support/github/server.js';
import { pollUntil } from '../test/support/helpers.js';
import { WorkerClient, WORKER_TOKEN, makeTaskPr, jobRequest } from '../test/support/worker.js';

const run = promisify(execFile);
const [engine = 'podman', image = 'localhost/kiro-worker:test'] = process.argv.slice(2);
/**
 * What bubblewrap needs in a container (docs/operations/deploy.md, "Container"): the default
 * seccomp profiles refuse the unshare/clone of new namespaces without CAP_SYS_ADMIN, AppArmor's
 * docker-default refuses mount, and a masked /proc (its read-only and hidden paths) makes the
 * kernel refuse the fresh /proc bwrap mounts for each agent.
 */
const DEFAULT_SANDBOX_OPTS = [
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  engine.endsWith('docker') ? 'systempaths=unconfined' : 'unmask=ALL',
];
/** CONTAINER_SECURITY_OPTS (space-separated flags) tries others, e.g. a custom seccomp profile. */
const SANDBOX_OPTS =
  process.env.CONTAINER_SECURITY_OPTS === undefined ? DEFAULT_SANDBOX_OPTS : process.env.CONTAINER_SECURITY_OPTS.split(' ').filter(Boolean);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function health(name: string): Promise<boolean> {
  // podman runs a HEALTHCHECK from systemd timers, absent here: run it once by hand; docker runs it itself.
  if (!engine.endsWith('docker'))
    return run(engine, ['healthcheck', 'run', name]).then(
      () => true,
      () => false,
    );
  const { stdout } = await run(engine, ['inspect', '--format', '{{.State.Health.Status}}', name]);
  return stdout.trim() === 'healthy';
}

const t0 = performance.now();
const gh = await GitHubStandIn.start();
const name = `kiro-smoke-${process.pid}`;
let started = false;
try {
  gh.addUser('alice');
  const bot = gh.addUser('kiro-bot');
  await gh.createRepo('alice', 'app');
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  const port = await freePort();
  const env: Record<string, string> = {
    KIRO_WORKER_HOST: '127.0.0.1',
    KIRO_WORKER_PORT: String(port),
    KIRO_WORKER_TOKEN: WORKER_TOKEN,
    KIRO_AGENT_COMMAND: JSON.stringify([
      '/opt/kiro-delegate/dist/test/fake-kiro.mjs',
      'chat',
      '--no-interactive',
      '--trust-all-tools',
      '{prompt}',
    ]),
    KIRO_GIT_BASE_URL: gh.gitBaseUrl,
    KIRO_GITHUB_API_URL: gh.apiUrl,
    KIRO_GITHUB_TOKEN: bot.token,
    KIRO_AGENT_NETWORK: 'none',
    KIRO_BRANCH_PREFIX: '',
    KIRO_SHUTDOWN_GRACE_MS: '5000',
  };
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await run(engine, ['run', '-d', '--name', name, '--network=host', ...SANDBOX_OPTS, ...envArgs, image]);
  started = true;
  const logs = async () =>
    await run(engine, ['logs', name]).then(
      (r) => r.stdout + r.stderr,
      (e: Error) => e.message,
    );
  await pollUntil(() => health(name), { timeoutMs: 30_000, intervalMs: 500, what: "the image's HEALTHCHECK to pass" }).catch(
    async (e: Error) => {
      throw new Error(`${e.message}\n${await logs()}`);
    },
  );
  console.log(`healthy after ${Math.round(performance.now() - t0)} ms`);
  const uid = (await run(engine, ['exec', name, 'id', '-u'])).stdout.trim();
  assert.notEqual(uid, '0', 'the worker runs as root');
  // On: either "agents run in a sandbox", or a warning that the container gives no writable cgroup (limits by rlimits).
  assert.match(await logs(), /"sandbox":\{"enabled":true,/, 'the sandbox is on');

  const client = new WorkerClient(`http://127.0.0.1:${port}`);
  const pr = await makeTaskPr(gh, 'alice', 'app', 'smoke-1', 'Smoke');
  const job = await client.submit(jobRequest('alice', 'app', 'smoke-1', pr.number, 'Smoke'));
  const done = await client.waitFor(job.jobId, ['succeeded', 'failed'], 60_000);
  const jobLog = async () => (await client.request('GET', `/jobs/${job.jobId}/log`)).text();
  assert.equal(done.state, 'succeeded', `${JSON.stringify(done.error)}\nthe job's log: ${await jobLog()}\n${await logs()}`);
  const log = (await gh.model.repo('alice', 'app')?.bare.log('refs/heads/main..refs/heads/smoke-1')) ?? [];
  assert.deepEqual(
    log.map((l) => l.subject),
    ['feat: Smoke', 'task: Smoke'],
    "the agent's commit landed",
  );
  console.log(`job ${job.jobId} pushed after ${Math.round(performance.now() - t0)} ms`);

  await run(engine, ['stop', '-t', '30', name]);
  const { stdout: code } = await run(engine, ['inspect', '--format', '{{.State.ExitCode}}', name]);
  assert.equal(code.trim(), '0', `the drain ended with exit code ${code.trim()}\n${await logs()}`);
  console.log(`container smoke test passed in ${Math.round(performance.now() - t0)} ms (${engine}, ${image})`);
} finally {
  if (started) await run(engine, ['rm', '-f', name]).catch(() => undefined);
  await gh.close();
}
