// Runs the real Codex CLI through the real worker and its real sandbox, with
// nothing able to leave the machine. Started by test/integration/worker/realAgent.test.ts as
//   unshare --net --mount --pid --fork --mount-proc --kill-child -- node --import tsx test/support/realAgentRun.ts '<json>'
// Inside those namespaces it brings loopback up, points /etc/resolv.conf (a bind
// mount seen only here) at a DNS logger on 127.0.0.1:53, starts the GitHub
// stand-in, the scripted model server and the worker in-process, and runs one job
// whose TASK.md asks for a file. Codex's whole configuration (model provider on
// loopback, no update checks, analytics, feedback, otel or plugins) lives in the
// HOME template; a second job without the template shows that nothing else
// configures it. Prints ONE JSON line (RunReport) on stdout; exits 1 with a
// message on stderr on an internal error.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINAL_STATES, type JobStatus } from '../../shared/protocol.js';
import { GitHubStandIn } from './github/server.js';
import { DnsLog } from './models/dnsLog.js';
import { ResponsesServer, shellQuote, type RecordedRequest } from './models/responsesServer.js';
import { pollUntil } from './helpers.js';
import { jobRequest, makeTaskPr, startWorker, WorkerClient, workerEnv } from './worker.js';

export interface RealAgentRunArgs {
  /** Absolute path of the installed `codex` executable (scripts/agents/install.sh prints it). */
  codex: string;
  fileName: string;
  fileContent: string;
  /** Also run a job without KIRO_AGENT_HOME_TEMPLATE. */
  withoutTemplate: boolean;
  jobTimeoutMs: number;
  /** The caller's namespaces, which this run must not share. */
  outerNamespaces?: Namespaces;
}

export interface ModelRequestSummary {
  method: string;
  path: string;
  status: number;
  authorized: boolean;
  model: unknown;
  stream: unknown;
  userAgent: string | undefined;
  step: number | undefined;
  events: string[];
  /** Names of the function tools Codex offered. */
  tools: string[];
  /** The newest tool result Codex sent back in this request (what its last command printed), or null. */
  toolOutput: string | null;
}

export interface JobRunReport {
  job: Pick<JobStatus, 'state' | 'exitCode' | 'signal' | 'error' | 'commitSha' | 'outputTail'>;
  /** The requested file on the job's branch after the run, or null. */
  file: string | null;
  modelRequests: ModelRequestSummary[];
  dnsNames: string[];
  /** Whether the run cancelled the job once it had seen enough (the run without the template). */
  cancelled: boolean;
  /** The end of the job's terminal log, escape sequences removed. */
  logTail: string;
  seconds: number;
}

export interface RunReport {
  ok: true;
  codexArgv: string[];
  modelKeyVar: string;
  model: string;
  withTemplate: JobRunReport;
  withoutTemplate: JobRunReport | null;
}

export const MODEL_KEY_VAR = 'SCRIPTED_MODEL_API_KEY';
export const MODEL_NAME = 'scripted-codex-model';
const MODEL_KEY = 'sk-scripted-test-key-0123456789';
const PROVIDER_ID = 'kiro_scripted';

/** Codex's whole configuration, as it sits in the HOME template. */
export function codexConfigToml(baseUrl: string): string {
  return [
    `model = "${MODEL_NAME}"`,
    `model_provider = "${PROVIDER_ID}"`,
    'check_for_update_on_startup = false',
    '',
    `[model_providers.${PROVIDER_ID}]`,
    'name = "Kiro scripted model"',
    `base_url = "${baseUrl}"`,
    `env_key = "${MODEL_KEY_VAR}"`,
    'wire_api = "responses"',
    '',
    '[features]',
    'plugins = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[otel]',
    'exporter = "none"',
    '',
  ].join('\n');
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\r/g, '');

function summarize(r: RecordedRequest): ModelRequestSummary {
  const body = (r.body && typeof r.body === 'object' ? r.body : {}) as { model?: unknown; stream?: unknown; tools?: { type?: string; name?: string }[]; input?: { type?: string; output?: unknown }[] };
  const ua = r.headers['user-agent'];
  const outputs = (body.input ?? []).filter((i) => i.type === 'function_call_output').map((i) => (typeof i.output === 'string' ? i.output : JSON.stringify(i.output)));
  return {
    method: r.method, path: r.path, status: r.status, authorized: r.authorized,
    model: body.model, stream: body.stream, userAgent: Array.isArray(ua) ? ua.join(', ') : ua, step: r.step, events: r.events,
    tools: (body.tools ?? []).filter((t) => t.type === 'function' && t.name).map((t) => t.name ?? ''),
    toolOutput: outputs.length ? (outputs[outputs.length - 1] ?? null) : null,
  };
}

export type Namespaces = { net: string; mnt: string };

export function namespacesOf(pid: string): Namespaces | null {
  try {
    return { net: readlinkSync(`/proc/${pid}/ns/net`), mnt: readlinkSync(`/proc/${pid}/ns/mnt`) };
  } catch {
    return null; // another process's links may be unreadable even to root in a container
  }
}

/**
 * Refuses to bind port 53 or mount anything unless this process has its own network and mount
 * namespaces: compared with the caller's (passed in `outer`), or else with init's; and the network
 * namespace must hold nothing but loopback.
 */
function assertIsolated(outer: Namespaces | undefined): void {
  const mine = namespacesOf('self');
  const other = outer ?? (process.pid === 1 ? null : namespacesOf('1'));
  for (const ns of ['net', 'mnt'] as const) {
    if (!mine || (other && other[ns] === mine[ns])) {
      throw new Error(`realAgentRun must run in its own network and mount namespaces (${ns} is shared): unshare --net --mount --pid --fork --mount-proc --kill-child -- node --import tsx test/support/realAgentRun.ts <json>`);
    }
  }
  // /proc/net is this process's own network namespace's view (/sys/class/net would be the host's here).
  const ifaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter(Boolean);
  if (ifaces.some((i) => i !== 'lo')) throw new Error(`this network namespace has interfaces besides loopback (${ifaces.join(', ')}): refusing to run`);
}

async function main(args: RealAgentRunArgs): Promise<RunReport> {
  assertIsolated(args.outerNamespaces);
  // A new network namespace has loopback down: nothing on 127.0.0.1 answers until it is up.
  try {
    execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    throw new Error(err.code === 'ENOENT' ? '`ip` is not installed (Debian: apt-get install iproute2): it brings loopback up in the run\'s network namespace' : `ip link set lo up failed: ${String(err.stderr ?? err.message).trim()}`);
  }
  const scratch = await mkdtemp(join(tmpdir(), 'kiro-real-agent-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(scratch, { recursive: true, force: true })];
  try {
    // Every name looked up in here (by the worker, git, Codex inside the sandbox) goes to the logger.
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

    const model = await ResponsesServer.start({
      apiKey: MODEL_KEY,
      steps: [
        // Shows the model where Codex runs: the task, and the sandbox's HOME holding the template's config.
        { kind: 'exec', cmd: 'cat TASK.md && echo "HOME=$HOME" && ls "$HOME/.codex/config.toml"' },
        { kind: 'exec', cmd: `printf '%s\\n' ${shellQuote(args.fileContent)} > ${shellQuote(args.fileName)}` },
        { kind: 'message', text: `Created ${args.fileName} as TASK.md asked.` },
      ],
    });
    cleanups.unshift(() => model.close());

    const template = join(scratch, 'home-template');
    await mkdir(join(template, '.codex'), { recursive: true });
    await writeFile(join(template, '.codex', 'config.toml'), codexConfigToml(model.baseUrl));

    const codexArgv = [args.codex, 'exec', '--strict-config', '--ephemeral', '--dangerously-bypass-approvals-and-sandbox', '{prompt}'];
    let seq = 0;
    /** One job on a fresh worker; `enough` (checked while it runs) ends it early with a cancel. */
    const runJob = async (homeTemplate: string | null, enough?: (names: string[]) => boolean): Promise<JobRunReport> => {
      const n = ++seq;
      // Not under /tmp, as in production (/var/lib/…): the sandbox's private /tmp would cover it anyway.
      const stateDir = await mkdtemp('/var/tmp/kiro-real-agent-');
      cleanups.unshift(() => rm(stateDir, { recursive: true, force: true }));
      const env = workerEnv(gh, bot.token, stateDir, {
        KIRO_AGENT_COMMAND: JSON.stringify(codexArgv),
        KIRO_AGENT_ENV_ALLOW: MODEL_KEY_VAR,
        KIRO_WORKER_SLOTS: '1',
        KIRO_JOB_TIMEOUT_MS: String(args.jobTimeoutMs),
        KIRO_KILL_GRACE_MS: '1000',
        ...(homeTemplate ? { KIRO_AGENT_HOME_TEMPLATE: homeTemplate } : {}),
      });
      const worker = await startWorker(env, { agentEnv: { [MODEL_KEY_VAR]: MODEL_KEY } });
      try {
        const requestsBefore = model.requests.length;
        const dnsBefore = dns.queries.length;
        const started = Date.now();
        const branch = `kiro/real-codex-${n}`;
        const title = `Create ${args.fileName}`;
        const pr = await makeTaskPr(gh, 'alice', 'app', branch, title,
          ` Create a file named ${args.fileName} at the root of the repository whose only line is: ${args.fileContent}`);
        const c = new WorkerClient(worker.url);
        const accepted = await c.submit(jobRequest('alice', 'app', branch, pr.number, title));
        const namesSince = () => dns.queries.slice(dnsBefore).map((q) => q.name);
        let cancelled = false;
        if (enough) {
          const seen = await pollUntil(async () => (enough(namesSince()) ? 'enough' : FINAL_STATES.has((await c.job(accepted.jobId)).state) && 'final'),
            { timeoutMs: args.jobTimeoutMs + 30_000, intervalMs: 100, what: 'the job to end or to have looked up enough names' });
          if (seen === 'enough') {
            cancelled = true;
            await c.request('POST', `/jobs/${accepted.jobId}/cancel`);
          }
        }
        const job = await c.waitFor(accepted.jobId, [...FINAL_STATES], args.jobTimeoutMs + 30_000);
        const log = await readFile(join(stateDir, 'logs', `${accepted.jobId}.log`), 'utf8').catch((e: unknown) => `(no log: ${String(e)})`);
        return {
          job: { state: job.state, exitCode: job.exitCode, signal: job.signal, error: job.error, commitSha: job.commitSha, outputTail: job.outputTail },
          file: (await gh.model.repo('alice', 'app')?.bare.readFile(`refs/heads/${branch}`, args.fileName)) ?? null,
          modelRequests: model.requests.slice(requestsBefore).map(summarize),
          dnsNames: [...new Set(namesSince())],
          cancelled,
          logTail: stripAnsi(log).slice(-4000),
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
    return { ok: true, codexArgv, modelKeyVar: MODEL_KEY_VAR, model: MODEL_NAME, withTemplate, withoutTemplate };
  } finally {
    for (const c of cleanups) await c().catch((e: unknown) => process.stderr.write(`realAgentRun: cleanup: ${String(e)}\n`));
  }
}

function parseArgs(raw: string | undefined): RealAgentRunArgs {
  if (!raw) throw new Error('usage: realAgentRun.ts \'{"codex":"/abs/codex","fileName":"hello.txt","fileContent":"…","withoutTemplate":true,"jobTimeoutMs":90000}\'');
  const a = JSON.parse(raw) as Partial<RealAgentRunArgs>;
  if (typeof a.codex !== 'string' || !a.codex.startsWith('/')) throw new Error('codex: the absolute path of the codex executable');
  if (typeof a.fileName !== 'string' || !/^[\w.-]+$/.test(a.fileName)) throw new Error('fileName: a plain file name');
  if (typeof a.fileContent !== 'string' || a.fileContent.includes('\n')) throw new Error('fileContent: one line of text');
  return { codex: a.codex, fileName: a.fileName, fileContent: a.fileContent, withoutTemplate: a.withoutTemplate === true, jobTimeoutMs: a.jobTimeoutMs ?? 90_000, outerNamespaces: a.outerNamespaces };
}

try {
  const report = await main(parseArgs(process.argv[2]));
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`realAgentRun: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
