// npm run cluster: a fleet on loopback. A private redis-server on a free port (never
// the system service), the GitHub stand-in with the demo's sample repository, and
// three worker hosts (the built service, as `npm start` runs it) that share one queue
// on that Redis, each with its own port, state folder and id, all with one token,
// running the scripted agent. It waits until every host's GET /health lists all three,
// prints how to delegate to them (`npm run demo -- --worker-url …`, VS Code's
// settings), and keeps running until Ctrl-C (or SIGTERM), which drains the hosts,
// stops Redis and the stand-in and removes every temporary folder it made.
// `--port <n>`: the hosts listen on n, n+1, n+2 (default: free ports chosen by the
// system). `--verbose`: every line the hosts log (default: warnings, errors, job and
// fleet events).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GitHubStandIn } from '../test/support/github/server.js';
import { startWorkerProcess, workerEnv, type ChildWorker } from '../test/support/worker.js';
import { pollUntil } from '../test/support/helpers.js';
import { repoRoot } from '../test/support/paths.js';
import type { PoolHealth } from '../shared/protocol.js';
import { Lifecycle, stopChild } from './support/lifecycle.js';
import { startRedis } from './support/redis.js';
import { SAMPLE, seedSampleRepo } from './support/sampleRepo.js';

const HOSTS = ['host-a', 'host-b', 'host-c'] as const;
const SLOTS_PER_HOST = 2;
/** The hosts' drain on SIGTERM (KIRO_SHUTDOWN_GRACE_MS); each is killed if it takes 5 s longer. */
const DRAIN_GRACE_MS = 10_000;
/** How long the hosts may take to see each other (a few fleet heartbeats). */
const READY_TIMEOUT_MS = 30_000;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const { values: opts } = parseArgs({ options: { port: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
const basePort = opts.port === undefined ? 0 : Number(opts.port);
if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_533)
  throw new Error(`--port ${opts.port ?? ''}: expected a port number (the hosts take it and the next two)`);
const life = new Lifecycle('cluster');

/**
 * Prints what a host logs that is worth seeing, one line at a time: warnings, errors, job
 * and fleet events, drains; not each request, the periodic pool health, nor the start-up
 * lines that the summary repeats (everything with --verbose).
 */
function hostEcho(id: string): (text: string) => void {
  const noise = new Set([
    'incoming request',
    'request completed',
    'pool health',
    'agents run in a sandbox',
    'agent ready',
    'embedded queue loaded',
    'kiro worker ready',
  ]);
  let partial = '';
  return (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      let entry: { level?: number; msg?: string; [k: string]: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        console.log(`[${id}] ${line}`); // not pino's: a crash's stack, a bad configuration
        continue;
      }
      const { level = 30, msg = '', time: _t, pid: _p, hostname: _h, reqId: _r, ...fields } = entry;
      if (!opts.verbose && (level < 30 || (level < 40 && (noise.has(msg) || msg.startsWith('Server listening at'))))) continue;
      const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      console.log(`[${id}]${level >= 50 ? ' ERROR' : level >= 40 ? ' WARN' : ''} ${msg}${rest}`);
    }
  };
}

interface Host {
  id: string;
  worker: ChildWorker;
  stateDir: string;
}
type FleetView = { id: string; sees?: string[]; queue?: string; problem?: string };

/** What one host's GET /health says about the fleet. */
async function fleetView(host: Host, token: string): Promise<FleetView> {
  try {
    const res = await fetch(`${host.worker.url}/health`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return { id: host.id, problem: `GET /health answered ${res.status}` };
    const health = (await res.json()) as PoolHealth;
    return { id: host.id, sees: health.hosts?.map((h) => h.id).sort(), queue: health.queue };
  } catch (e) {
    return { id: host.id, problem: (e as Error).message };
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(repoRoot, 'dist', 'worker', 'server.mjs')))
    throw new Error('dist/worker/server.mjs is missing: run  npm run build  (npm run cluster builds first)');
  const root = await life.tempFolder('kiro-cluster-');
  const token = randomBytes(24).toString('base64url');

  const redisDir = join(root, 'redis');
  await mkdir(redisDir);
  const redis = await life.started('Redis', startRedis(redisDir), (r) => stopChild(r.child, 10_000));
  redis.child.on('exit', (code, signal) => {
    if (!life.isStopping) console.log(`${bold('Redis exited')} (${code ?? signal}): the hosts cannot reach their queue`);
  });

  const gh = await life.started('the GitHub stand-in', GitHubStandIn.start(), async (g) => {
    await g.close(); // removes its repositories too
    life.markRemoved(g.model.root);
  });
  await seedSampleRepo(gh);

  const hosts: Host[] = [];
  for (const [i, id] of HOSTS.entries()) {
    const stateDir = join(root, id);
    await mkdir(stateDir);
    const env = workerEnv(gh, SAMPLE.botToken, stateDir, {
      KIRO_WORKER_PORT: String(basePort === 0 ? 0 : basePort + i),
      KIRO_WORKER_ID: id,
      KIRO_WORKER_SLOTS: String(SLOTS_PER_HOST),
      KIRO_WORKER_TOKEN: token,
      KIRO_REDIS_URL: redis.url,
      KIRO_SHUTDOWN_GRACE_MS: String(DRAIN_GRACE_MS),
      FAKE_KIRO_STEP_MS: '400',
    });
    // Its own process group: Ctrl-C in the terminal reaches only this script, which drains the hosts before Redis goes.
    const worker = await life.started(id, startWorkerProcess(env, { detached: true, keepChars: 64_000, onOutput: hostEcho(id) }), (w) =>
      stopChild(w.child, DRAIN_GRACE_MS + 5000),
    );
    worker.child.on('exit', (code, signal) => {
      if (!life.isStopping) console.log(`${bold(`${id} exited`)} (${code ?? signal}); the other hosts keep serving`);
    });
    hosts.push({ id, worker, stateDir });
  }

  // Ready when every host lists every host. A build without the fleet mode ignores KIRO_REDIS_URL
  // and lists no hosts: that is an error here, with what each host sees.
  let views: FleetView[] = [];
  const all = [...HOSTS].sort().join(',');
  const ready = await pollUntil(
    async () => {
      views = await Promise.all(hosts.map((h) => fleetView(h, token)));
      return views.every((v) => v.sees?.join(',') === all);
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 },
  ).catch(() => false);
  if (!ready) {
    console.error(`The hosts did not all see each other within ${READY_TIMEOUT_MS / 1000} s:`);
    for (const v of views)
      console.error(
        `  ${v.id}: ${v.problem ?? (v.sees ? `sees ${v.sees.join(', ') || 'no hosts'}` : `lists no hosts (queue: ${v.queue ?? 'not said'}): a worker build without the fleet mode ignores KIRO_REDIS_URL`)}`,
      );
    return life.stop(1);
  }

  const first = hosts[0]?.worker.url ?? '';
  console.log(`\n${bold('Redis')}            ${redis.url} (private: pid ${redis.child.pid}, append-only file in ${redisDir}, noeviction)`);
  console.log(`${bold('GitHub stand-in')}  ${gh.apiUrl} (repository ${SAMPLE.owner}/${SAMPLE.repo}, token ${SAMPLE.devToken})`);
  console.log(`${bold('Worker hosts')}     ${hosts.length} × ${SLOTS_PER_HOST} slots, token ${token}`);
  for (const h of hosts) console.log(`  ${h.id}  ${h.worker.url}  pid ${h.worker.child.pid}  state in ${h.stateDir}`);
  console.log(`Every host sees ${HOSTS.join(', ')}: one queue, any host answers any request.`);

  console.log(`\n${bold('Delegate to it')} (any host's URL will do):`);
  console.log(`  npm run demo -- --worker-url ${first} --worker-token ${token} --github-url ${gh.origin}`);
  console.log(
    `${bold('Or from VS Code')}: set "kiroDelegate.workerUrl" to ${first} and "kiroDelegate.githubEnterpriseUrl" to ${gh.origin},`,
  );
  console.log(`  run "Kiro: Set Worker Token" with ${token}, and "Kiro: Set GitHub Token" with ${SAMPLE.devToken}.`);
  console.log(`${bold('Watch it')}: curl -H 'authorization: Bearer ${token}' ${first}/health`);
  console.log(`${bold('Take a host down')}: kill -9 <its pid>; another host takes over its running jobs once their lock lapses.`);
  console.log('\nCtrl-C stops it all and removes the temporary folders.');
}

main().catch((e: unknown) => {
  if (life.isStopping) return; // a start cut short by Ctrl-C: stop() is already cleaning up
  console.error(e instanceof Error ? e.message : e);
  void life.stop(1);
});
