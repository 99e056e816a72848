// Runs a real agent CLI (Codex, Claude Code or Gemini CLI, chosen with its
// KIRO_AGENT preset) through the real worker and its real sandbox, with nothing
// able to leave the machine. Started by test/integration/worker/realAgent.test.ts as
//   unshare --net --mount --pid --fork --mount-proc --kill-child -- node --import tsx test/support/realAgentRun.ts '<json>'
// Inside those namespaces it brings loopback up, points /etc/resolv.conf (a bind
// mount seen only here) at a DNS logger on 127.0.0.1:53, starts the GitHub
// stand-in, the agent's scripted model server and the worker in-process, and runs
// one job whose TASK.md asks for a file. The agent's configuration (Codex's loopback
// provider, Gemini CLI's settings) lives in the HOME template; the rest comes from
// the preset. For Codex, a second job without the template shows that nothing else
// configures it. Prints ONE JSON line (RunReport) on stdout; exits 1 with a message
// on stderr on an internal error.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FINAL_STATES, type JobStatus, type PoolHealth } from '../../shared/protocol.js';
import { renderNotes } from '../../worker-service/jobs/log.js';
import { agentVars, REAL_AGENTS, startModel, workerVars, writeHomeTemplate, type ModelRequest, type RealAgent } from './agentScenarios.js';
import { GitHubStandIn } from './github/server.js';
import { assertIsolated, loopbackUp, type Namespaces } from './isolation.js';
import { DnsLog } from './models/dnsLog.js';
import { pollUntil } from './helpers.js';
import { jobRequest, makeTaskPr, startWorker, WorkerClient, workerEnv } from './worker.js';

export interface RealAgentRunArgs {
  agent: RealAgent;
  /** Absolute path of the installed CLI (scripts/agents/install.sh prints it); its folder goes first on the worker's PATH. */
  bin: string;
  fileName: string;
  fileContent: string;
  /** Also run a job without KIRO_AGENT_HOME_TEMPLATE (Codex: it then has no provider). */
  withoutTemplate: boolean;
  jobTimeoutMs: number;
  /** The caller's namespaces, which this run must not share. */
  outerNamespaces?: Namespaces;
}

export interface JobRunReport {
  job: Pick<JobStatus, 'state' | 'exitCode' | 'signal' | 'error' | 'commitSha' | 'outputTail' | 'summary'>;
  /** The requested file on the job's branch after the run, or null. */
  file: string | null;
  modelRequests: ModelRequest[];
  dnsNames: string[];
  /** Whether the run cancelled the job once it had seen enough (the run without the template). */
  cancelled: boolean;
  /** The job's terminal log, escape sequences removed (its last 20,000 characters). */
  log: string;
  /** GET /health's agent, asked before the job. */
  health: PoolHealth['agent'];
  /** The worker's comment on the PR once the job ended (null if none came within 15 s). */
  comment: string | null;
  seconds: number;
}

export interface RunReport {
  ok: true;
  agent: RealAgent;
  withTemplate: JobRunReport;
  withoutTemplate: JobRunReport | null;
}

/**
 * Where the agents find their scripted model: not on loopback (inside the sandbox, loopback is the
 * sandbox's own, and NO_PROXY sends it there), but at a TEST-NET-2 address this run's network
 * namespace gives its lo, reached through the egress proxy like a real API host.
 */
const MODEL_ADDRESS = '198.51.100.7';

/** A TCP forwarder on MODEL_ADDRESS to the model server's loopback port. */
async function modelFront(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, MODEL_ADDRESS, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// The worker's notes (APC kiro-note strings) read as the lines "[kiro-worker] text", as in the tail.
const stripAnsi = (s: string) =>
  renderNotes(s).replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\r/g, '');

async function main(args: RealAgentRunArgs): Promise<RunReport> {
  assertIsolated(args.outerNamespaces, 'test/support/realAgentRun.ts');
  loopbackUp();
  const scratch = await mkdtemp(join(tmpdir(), 'kiro-real-agent-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(scratch, { recursive: true, force: true })];
  try {
    // Every name looked up in here (by the worker, git, the agent inside the sandbox) goes to the logger.
    const resolv = join(scratch, 'resolv.conf');
    await writeFile(resolv, 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n');
    execFileSync('mount', ['--bind', resolv, '/etc/resolv.conf']);
    cleanups.unshift(async () => execFileSync('umount', ['/etc/resolv.conf']));
    const dns = await DnsLog.start(53);
    cleanups.unshift(() => dns.close());

    const gh = await GitHubStandIn.start();
    cleanups.unshift(() => gh.close());
    gh.addUser('alice');
    const bot = gh.addUser('kiro-bot');
    await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');

    const task = { fileName: args.fileName, fileContent: args.fileContent };
    const model = await startModel(args.agent, task);
    cleanups.unshift(() => model.close());
    // The agent's network is the default one (its preset's API hosts through the egress proxy) plus the model's host.
    execFileSync('ip', ['addr', 'add', `${MODEL_ADDRESS}/32`, 'dev', 'lo']);
    const modelPort = Number(new URL(model.baseUrl).port);
    const front = await modelFront(modelPort);
    cleanups.unshift(() => front.close());
    const modelHost = `${MODEL_ADDRESS}:${front.port}`;
    const baseUrl = model.baseUrl.replace(`127.0.0.1:${modelPort}`, modelHost);
    const template = join(scratch, 'home-template');
    await writeHomeTemplate(args.agent, baseUrl, template, args.bin);

    let seq = 0;
    /** One job on a fresh worker; `enough` (checked while it runs) ends it early with a cancel. */
    const runJob = async (homeTemplate: string | null, enough?: (names: string[]) => boolean): Promise<JobRunReport> => {
      const n = ++seq;
      // Not under /tmp, as in production (/var/lib/…): the sandbox's private /tmp would cover it anyway.
      const stateDir = await mkdtemp('/var/tmp/kiro-real-agent-');
      cleanups.unshift(() => rm(stateDir, { recursive: true, force: true }));
      const env = workerEnv(gh, bot.token, stateDir, {
        ...workerVars(args.agent),
        // The preset's argv, not the scripted agent workerEnv names by default.
        KIRO_AGENT_COMMAND: '',
        KIRO_WORKER_SLOTS: '1',
        KIRO_JOB_TIMEOUT_MS: String(args.jobTimeoutMs),
        KIRO_KILL_GRACE_MS: '1000',
        KIRO_AGENT_NETWORK: '',
        KIRO_AGENT_ALLOW_HOSTS: modelHost,
        ...(homeTemplate ? { KIRO_AGENT_HOME_TEMPLATE: homeTemplate } : {}),
      });
      const worker = await startWorker(env, {
        agentEnv: { PATH: `${dirname(args.bin)}:${process.env.PATH ?? ''}`, ...agentVars(args.agent, baseUrl) },
      });
      try {
        const c = new WorkerClient(worker.url);
        const health = ((await (await c.request('GET', '/health')).json()) as PoolHealth).agent;
        const requestsBefore = model.requests().length;
        const dnsBefore = dns.queries.length;
        const started = Date.now();
        const branch = `kiro/real-${args.agent}-${n}`;
        const title = `Create ${args.fileName}`;
        const pr = await makeTaskPr(
          gh,
          'alice',
          'app',
          branch,
          title,
          ` Create a file named ${args.fileName} at the root of the repository whose only line is: ${args.fileContent}`,
        );
        const accepted = await c.submit(jobRequest('alice', 'app', branch, pr.number, title));
        const namesSince = () => dns.queries.slice(dnsBefore).map((q) => q.name);
        let cancelled = false;
        if (enough) {
          const seen = await pollUntil(
            async () => (enough(namesSince()) ? 'enough' : FINAL_STATES.has((await c.job(accepted.jobId)).state) && 'final'),
            { timeoutMs: args.jobTimeoutMs + 30_000, intervalMs: 100, what: 'the job to end or to have looked up enough names' },
          );
          if (seen === 'enough') {
            cancelled = true;
            await c.request('POST', `/jobs/${accepted.jobId}/cancel`);
          }
        }
        const job = await c.waitFor(accepted.jobId, [...FINAL_STATES], args.jobTimeoutMs + 30_000);
        const log = await readFile(join(stateDir, 'logs', `${accepted.jobId}.log`), 'utf8').catch((e: unknown) => `(no log: ${String(e)})`);
        // The PR's comment comes once the job has ended (the worker's follow-up, with the bot's token).
        const comment = await pollUntil(() => gh.model.repo('alice', 'app')?.comments.find((x) => x.issueNumber === pr.number)?.body, {
          timeoutMs: 15_000,
          what: 'the PR comment',
        }).catch(() => null);
        return {
          job: {
            state: job.state,
            exitCode: job.exitCode,
            signal: job.signal,
            error: job.error,
            commitSha: job.commitSha,
            outputTail: job.outputTail,
            summary: job.summary,
          },
          file: (await gh.model.repo('alice', 'app')?.bare.readFile(`refs/heads/${branch}`, args.fileName)) ?? null,
          modelRequests: model.requests().slice(requestsBefore),
          dnsNames: [...new Set(namesSince())],
          cancelled,
          log: stripAnsi(log).slice(-20_000),
          health,
          comment,
          seconds: (Date.now() - started) / 1000,
        };
      } finally {
        await worker.close();
      }
    };

    const withTemplate = await runJob(template);
    // Without the template Codex falls back to OpenAI's own endpoints, which it keeps retrying
    // ("waiting for network") until the job's time limit: once it has looked one up, that is enough.
    const withoutTemplate = args.withoutTemplate ? await runJob(null, (names) => names.includes('api.openai.com')) : null;
    return { ok: true, agent: args.agent, withTemplate, withoutTemplate };
  } finally {
    for (const c of cleanups) await c().catch((e: unknown) => process.stderr.write(`realAgentRun: cleanup: ${String(e)}\n`));
  }
}

function parseArgs(raw: string | undefined): RealAgentRunArgs {
  if (!raw)
    throw new Error(
      'usage: realAgentRun.ts \'{"agent":"codex","bin":"/abs/codex","fileName":"hello.txt","fileContent":"…","withoutTemplate":true,"jobTimeoutMs":90000}\'',
    );
  const a = JSON.parse(raw) as Partial<RealAgentRunArgs>;
  if (!a.agent || !(REAL_AGENTS as readonly string[]).includes(a.agent)) throw new Error(`agent: one of ${REAL_AGENTS.join(', ')}`);
  if (typeof a.bin !== 'string' || !a.bin.startsWith('/')) throw new Error("bin: the absolute path of the agent's executable");
  if (typeof a.fileName !== 'string' || !/^[\w.-]+$/.test(a.fileName)) throw new Error('fileName: a plain file name');
  if (typeof a.fileContent !== 'string' || a.fileContent.includes('\n')) throw new Error('fileContent: one line of text');
  return {
    agent: a.agent,
    bin: a.bin,
    fileName: a.fileName,
    fileContent: a.fileContent,
    withoutTemplate: a.withoutTemplate === true,
    jobTimeoutMs: a.jobTimeoutMs ?? 90_000,
    outerNamespaces: a.outerNamespaces,
  };
}

try {
  const report = await main(parseArgs(process.argv[2]));
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`realAgentRun: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
