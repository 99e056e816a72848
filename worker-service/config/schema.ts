// Every KIRO_* variable the worker reads, once: its kind, default, range, secrecy and meaning.
// It drives the parsing (load.ts), the unknown-name warnings (unknownNames.ts), --check-config
// (check.ts) and docs/worker/configuration.md (`npm run docs:config`, docs.ts). The order is the page's.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AGENT_PRESETS } from '../agent/presets.js';
import { parseAppId } from './githubApp.js';
import { custom, flag, int, oneOf, optionalInt, secret, text, url, type VarSpec } from './kinds.js';
import * as p from './parsers.js';
import { parseAllowlist } from './repoPolicy.js';

const DAY_MS = 24 * 3600_000;
const MIB = 1024 * 1024;

export const SCHEMA = {
  // Service
  KIRO_WORKER_CONFIG: custom({
    group: 'service',
    field: 'configFile',
    envOnly: true,
    accepts: 'path',
    parse: (raw) => (raw ? resolve(raw) : undefined),
    doc: 'a JSON object of these variables (strings, numbers, booleans; `KIRO_AGENT_COMMAND` may be an array); the environment wins. Hidden from agents: it may hold secrets',
  }),
  KIRO_WORKER_HOST: text({ group: 'service', field: 'host', default: '127.0.0.1', doc: 'listen address' }),
  KIRO_WORKER_PORT: int({ group: 'service', field: 'port', default: 8080, min: 0, max: 65535, doc: 'listen port' }),
  KIRO_WORKER_TOKEN: secret({
    group: 'service',
    field: 'token',
    minimum: { count: 16, unit: 'characters' },
    doc: "bearer token; **required** when the host is not loopback, and when the worker holds GitHub credentials. Without one, only requests addressed to `127.0.0.1`/`localhost` and the worker's port are served (`421` otherwise: no DNS rebinding)",
  }),
  KIRO_ALLOW_UNAUTHENTICATED: flag({
    group: 'service',
    field: '(checked at start)',
    doc: '`1`: start without a token although GitHub credentials are set (the demo does; only where every local process is yours)',
  }),
  KIRO_WORKER_STATE_DIR: custom({
    group: 'service',
    field: 'stateDir',
    accepts: 'path',
    shown: '`~/.local/state/kiro-delegate-worker`',
    parse: (raw) => raw || join(homedir(), '.local', 'state', 'kiro-delegate-worker'),
    doc: 'jobs (one JSON file each, written atomically), logs, repository mirrors, worktrees',
  }),
  KIRO_LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    group: 'service',
    field: 'logLevel',
    default: 'info',
    doc: 'pino level',
  }),
  KIRO_PUBLIC_DOCS: flag({ group: 'service', field: 'publicDocs', doc: '`1`: serve `/openapi.json` and `/docs` without a token' }),
  KIRO_METRICS_TOKEN: secret({
    group: 'service',
    field: 'metricsToken',
    doc: "a scraper's bearer token for `GET /metrics` only (every other route refuses it); the worker token also reads metrics. See [metrics](../operations/metrics.md)",
  }),

  // GitHub
  KIRO_GIT_BASE_URL: url({
    group: 'github',
    field: 'gitBaseUrl',
    default: 'https://github.com',
    doc: 'a repository is `<base>/<owner>/<repo>.git`',
  }),
  KIRO_GITHUB_API_URL: url({ group: 'github', field: 'githubApiUrl', default: 'https://api.github.com', doc: 'for PR comments' }),
  KIRO_GITHUB_TOKEN: secret({
    group: 'github',
    field: 'githubToken',
    doc: 'push credential and PR comments, shared by every job; prefer a GitHub App (below)',
  }),
  KIRO_GITHUB_APP_ID: custom({
    group: 'github',
    field: 'githubAppId',
    accepts: "the App's numeric ID",
    parse: parseAppId,
    doc: "a GitHub App's numeric App ID: each job then gets its own token for its one repository (see [security](../security.md)); setting it together with `KIRO_GITHUB_TOKEN` is refused",
  }),
  KIRO_GITHUB_APP_PRIVATE_KEY_FILE: custom({
    group: 'github',
    field: 'githubAppPrivateKeyFile',
    accepts: 'path of an RSA key in PEM',
    parse: (raw) => p.path(raw),
    doc: "path of the App's private key (the `.pem` GitHub generates); both App variables or neither. Hidden from agents",
  }),
  KIRO_REPO_ALLOWLIST: custom({
    group: 'github',
    field: 'repoAllowlist',
    accepts: '`owner/repo,owner/*`',
    parse: parseAllowlist,
    doc: 'the only repositories jobs may name (unset: any the credential reaches)',
  }),
  KIRO_BRANCH_PREFIX: custom({
    group: 'github',
    field: 'identity.branchPrefix',
    accepts: 'a branch-name prefix, or empty',
    shown: '`kiro/`',
    parse: p.branchPrefix,
    doc: "the worker pushes only to branches starting with this, never to a repository's default branch, and only as the head of an open PR of the same repository",
  }),

  // Identity
  KIRO_AUTH: oneOf(['token', 'github'], {
    group: 'identity',
    field: 'identity.mode',
    default: 'token',
    expected: '"token" (the default: one shared KIRO_WORKER_TOKEN) or "github" (each user signs in with GitHub)',
    doc: "`token`: `KIRO_WORKER_TOKEN` is the one credential (one user, or a group that trusts each other). `github`: each user exchanges their GitHub sign-in for a session and may do what their repository permission allows; the worker token is the admin's. See [docs/identity.md](../identity.md)",
  }),
  KIRO_SESSION_SECRET: secret({
    group: 'identity',
    field: 'identity.sessionSecret',
    doc: '`github` mode: the key sessions are signed with (≥ 32 bytes, the same on every host of a fleet)',
  }),
  KIRO_SESSION_TTL_S: int({
    group: 'identity',
    field: 'identity.sessionTtlS',
    default: 43_200,
    min: 60,
    max: 30 * 86_400,
    doc: "a session's lifetime, in seconds",
  }),
  KIRO_TRUST_PROXY: int({
    group: 'identity',
    field: 'identity.trustProxy',
    default: 0,
    min: 0,
    max: 10,
    doc: 'how many proxies in front append to `X-Forwarded-For` (`1`: one load balancer); the client address is the one the outermost saw, never what the client wrote into the header; `0`: the header is not believed',
  }),
  KIRO_USER_MAX_ACTIVE: int({
    group: 'identity',
    field: 'identity.userMaxActive',
    default: 5,
    min: 1,
    max: 10_000,
    doc: 'per user (`github` mode): queued plus running jobs; above, `429 QUOTA_EXCEEDED` with `Retry-After`',
  }),
  KIRO_USER_MAX_JOBS_PER_DAY: int({
    group: 'identity',
    field: 'identity.userMaxJobsPerDay',
    default: 100,
    min: 1,
    max: 1_000_000,
    doc: 'per user (`github` mode): jobs a day (UTC); above, `429 QUOTA_EXCEEDED` with `Retry-After`',
  }),
  KIRO_USER_DAILY_TOKENS: optionalInt({
    group: 'identity',
    field: 'identity.userDailyTokens',
    min: 1,
    max: 1e12,
    doc: 'per user (`github` mode): no new job once their jobs reported this many tokens today (`429`, with when it resets)',
  }),

  // Jobs, slots and requests
  KIRO_WORKER_SLOTS: int({ group: 'jobs', field: 'slots', default: 2, min: 1, max: 64, doc: 'agent slots' }),
  KIRO_WORKER_QUEUE_LIMIT: int({
    group: 'jobs',
    field: 'queueLimit',
    default: 100,
    min: 0,
    max: 100_000,
    doc: 'queued jobs before `503` + `Retry-After`',
  }),
  KIRO_JOB_TIMEOUT_MS: int({ group: 'jobs', field: 'jobTimeoutMs', default: 600_000, min: 1_000, max: DAY_MS, doc: "a job's time limit" }),
  KIRO_JOB_MAX_TOKENS: optionalInt({
    group: 'jobs',
    field: 'jobMaxTokens',
    min: 1,
    max: 1e12,
    doc: 'a job whose agent reports more input + output tokens is stopped: `BUDGET_EXCEEDED`, nothing pushed (presets that report usage: Claude Code, Codex, Gemini CLI)',
  }),
  KIRO_JOB_RETENTION_DAYS: int({
    group: 'jobs',
    field: 'retentionDays',
    default: 14,
    min: 1,
    max: 3650,
    doc: 'finished jobs older than this lose their record, log and sandbox folder (at start and hourly, said in the log); in a fleet their records expire in Redis after it and each host sweeps its own disk',
  }),
  KIRO_SLOT_RESTART_MS: int({
    group: 'jobs',
    field: 'slotRestartMs',
    default: 5_000,
    min: 0,
    max: 600_000,
    doc: 'rest of a slot whose agent crashed',
  }),
  KIRO_HEALTH_INTERVAL_MS: int({
    group: 'jobs',
    field: 'healthIntervalMs',
    default: 60_000,
    min: 100,
    max: 3600_000,
    doc: 'health monitor period',
  }),
  KIRO_AGENT_SILENCE_MS: int({
    group: 'jobs',
    field: 'agentSilenceMs',
    default: 300_000,
    min: 1_000,
    max: DAY_MS,
    doc: 'stop an agent that printed nothing this long',
  }),
  KIRO_SLOT_IDLE_RECYCLE_MS: int({
    group: 'jobs',
    field: 'slotIdleRecycleMs',
    default: 300_000,
    min: 0,
    max: DAY_MS,
    doc: "drop a slot's warm worktree after this much idleness",
  }),
  KIRO_KILL_GRACE_MS: int({
    group: 'jobs',
    field: 'killGraceMs',
    default: 5_000,
    min: 0,
    max: 600_000,
    doc: "SIGTERM → SIGKILL grace for the agent's process group",
  }),
  KIRO_SHUTDOWN_GRACE_MS: int({
    group: 'jobs',
    field: 'shutdownGraceMs',
    default: 30_000,
    min: 0,
    max: 3600_000,
    doc: 'on SIGTERM, how long running jobs may finish',
  }),
  KIRO_RATE_LIMIT_PER_MIN: int({
    group: 'jobs',
    field: 'rateLimitPerMinute',
    default: 600,
    min: 1,
    max: 1_000_000,
    doc: 'requests per minute per signed-in user (`KIRO_AUTH=github`; its admin is exempt), else per client address',
  }),
  KIRO_BODY_LIMIT_BYTES: int({
    group: 'jobs',
    field: 'bodyLimitBytes',
    default: MIB,
    min: 1024,
    max: 64 * MIB,
    doc: 'request body limit (`413` above)',
  }),
  KIRO_STREAM_MAX_PER_CALLER: int({
    group: 'jobs',
    field: 'streamMaxPerCaller',
    default: 20,
    min: 1,
    max: 1_000_000,
    doc: 'open `GET /events` and `GET /jobs/:id/log` streams per caller on one host (`429 TOO_MANY_STREAMS` above; per login in `github` mode, its admin exempt; else per client address)',
  }),
  KIRO_STREAM_IDLE_MS: int({
    group: 'jobs',
    field: 'streamIdleMs',
    default: 600_000,
    min: 1_000,
    max: DAY_MS,
    doc: 'a stream that sent nothing this long (pings aside) is closed; clients resume (`Last-Event-ID`, the byte offset). A log reader that leaves 4 MiB unread is cut off the same way',
  }),
} satisfies Record<string, VarSpec<unknown>>;

export const AGENT_SCHEMA = {
  KIRO_AGENT: oneOf(AGENT_PRESETS, {
    group: 'agent',
    field: 'agentPreset',
    default: undefined,
    shown: '`kiro`',
    doc: 'the agent CLI (see [agents](agents.md)); unset with `KIRO_AGENT_COMMAND` set, it is `custom`',
  }),
  KIRO_AGENT_COMMAND: custom({
    group: 'agent',
    field: 'agentCommand',
    accepts: 'JSON array of strings',
    shown: "the preset's",
    parse: p.agentCommand,
    doc: "the agent's argv; `{prompt}` and `{taskFile}` are replaced as whole arguments. Required with `KIRO_AGENT=custom`; with a preset it replaces only the argv (the preset's variables, output reading and exit codes stay)",
  }),
  KIRO_AGENT_KEY_VAR: custom({
    group: 'agent',
    field: 'agentKeyVar',
    accepts: 'a variable name, or `none`',
    shown: "the preset's",
    parse: p.agentKeyVar,
    doc: "the variable that holds the agent's key when it is not the preset's (a Codex provider's `env_key`, a gateway's token): it is passed to the agent and required at start; `none` when the agent logs in from `KIRO_AGENT_HOME_TEMPLATE`",
  }),
  KIRO_AGENT_ENV_ALLOW: custom({
    group: 'agent',
    field: 'agentEnvAllow',
    accepts: 'comma-separated names',
    parse: p.names,
    doc: "extra variable names passed to the agent, besides the preset's (its environment is an allow-list); they may point into the template HOME or a read path",
  }),
  KIRO_AGENT_NAME: text({ group: 'agent', field: 'agentName', default: 'Kiro Agent', doc: "commit author's name" }),
  KIRO_AGENT_EMAIL: text({
    group: 'agent',
    field: 'agentEmail',
    default: 'kiro-agent@users.noreply.github.com',
    doc: "commit author's email",
  }),

  // The sandbox
  KIRO_SANDBOX: oneOf(['on', 'off'], {
    group: 'sandbox',
    field: 'sandbox.enabled',
    default: 'on',
    expected: '"on" (the default) or "off"',
    doc: '`off` runs agents unconfined, with a warning at start, in the log and in `/health`; only set it on a single-user machine',
  }),
  KIRO_AGENT_NETWORK: custom({
    group: 'sandbox',
    field: 'sandbox.network',
    accepts: '`open`, `none`, `allow:<host>[:port][,…]`',
    shown: "the preset's API hosts",
    parse: p.network,
    doc: "unset: only the preset's model API hosts (see [agents](agents.md)) plus `KIRO_AGENT_ALLOW_HOSTS`, through the service's egress proxy; `allow:` the listed hosts (`@registries` for the common package registries); `open`: any public address, through the same proxy; `none`: loopback only. In every mode link-local addresses (the cloud's metadata service), this worker's ports and Redis are refused",
  }),
  KIRO_AGENT_ALLOW_HOSTS: custom({
    group: 'sandbox',
    field: 'sandbox.network.hosts',
    accepts: 'comma-separated `host[:port]` or `@registries`',
    parse: p.allowHosts,
    doc: 'hosts added to the default, to `allow:` and to `open`; each refused request is on the job (`blocked`), in its terminal ("blocked: registry.npmjs.org:443 — add it to KIRO_AGENT_ALLOW_HOSTS") and in the PR comment',
  }),
  KIRO_AGENT_HOME_TEMPLATE: custom({
    group: 'sandbox',
    field: 'sandbox.homeTemplate',
    accepts: 'absolute path',
    parse: (raw, name) => p.absolutePaths(raw, name)[0],
    doc: "a directory copied into each job's private `HOME` before the agent starts (its configuration and login: `.codex/config.toml`, `.claude/`, Kiro's login)",
  }),
  KIRO_AGENT_READ_PATHS: custom({
    group: 'sandbox',
    field: 'sandbox.readPaths',
    accepts: 'colon-separated absolute paths',
    parse: p.absolutePaths,
    doc: 'directories bound read-only at the same path (an agent installed under a hidden path, a shared toolchain)',
  }),
  KIRO_AGENT_MEMORY_MB: int({
    group: 'sandbox',
    field: 'sandbox.memoryBytes',
    default: 8192,
    min: 16,
    max: 1024 * 1024,
    doc: 'memory of one agent with everything it starts, in MiB (cgroup; `RLIMIT_AS` where no cgroup is writable)',
  }),
  KIRO_AGENT_MAX_PROCS: int({
    group: 'sandbox',
    field: 'sandbox.maxProcesses',
    default: 1024,
    min: 8,
    max: 1_000_000,
    doc: "processes and threads of one agent (cgroup `pids.max`; where no cgroup is writable, `RLIMIT_NPROC`, which counts every process of the service's user and does not bind root)",
  }),
  KIRO_AGENT_MAX_OUTPUT_MB: int({
    group: 'sandbox',
    field: 'sandbox.maxOutputBytes',
    default: 64,
    min: 1,
    max: 64 * 1024,
    doc: 'terminal output of one agent, in MiB',
  }),
  KIRO_AGENT_MAX_DISK_MB: int({
    group: 'sandbox',
    field: 'sandbox.maxDiskBytes',
    default: 10240,
    min: 1,
    max: 16 * 1024 * 1024,
    doc: "disk used by the working tree and the job's `HOME` together, in MiB (also the largest file; the private `/tmp` holds at most this or 4 GiB, whichever is less)",
  }),

  // A fleet
  KIRO_REDIS_URL: custom({
    group: 'fleet',
    field: 'fleet.redisUrl',
    secret: true,
    accepts: '`redis://` or `rediss://` URL (its password a secret)',
    parse: p.redisUrl,
    doc: "a fleet: the Redis every host shares its queue through, `redis://[user:password@]host:port/db` or `rediss://` (TLS); the same on every host, never logged. Unset: the embedded queue on this host's disk",
  }),
  KIRO_WORKER_ID: custom({
    group: 'fleet',
    field: 'fleet.workerId',
    needs: 'KIRO_REDIS_URL',
    accepts: 'letters, digits, `._:-`, at most 64',
    shown: '`<hostname>:<port>`',
    parse: p.workerId,
    doc: "this host's name in a fleet: in `/health`, the status bar's tooltip and the logs; unique per host",
  }),
  KIRO_FLEET_LOCK_MS: int({
    group: 'fleet',
    field: 'fleet.lockMs',
    needs: 'KIRO_REDIS_URL',
    default: 8_000,
    min: 1_000,
    max: 600_000,
    doc: 'how long a host may hold a running job without renewing its lock before another host may take the job over',
  }),
  KIRO_FLEET_STALLED_CHECK_MS: int({
    group: 'fleet',
    field: 'fleet.stalledCheckMs',
    needs: 'KIRO_REDIS_URL',
    default: 3_000,
    min: 500,
    max: 600_000,
    doc: 'how often each host looks for jobs whose host is gone (lock lapsed)',
  }),
  KIRO_FLEET_HEARTBEAT_MS: int({
    group: 'fleet',
    field: 'fleet.heartbeatMs',
    needs: 'KIRO_REDIS_URL',
    default: 5_000,
    min: 200,
    max: 60_000,
    doc: 'how often a host says it is alive; a host unseen for 3 heartbeats is gone from `/health`',
  }),
  KIRO_FLEET_BRANCH_LOCK_MS: int({
    group: 'fleet',
    field: 'fleet.branchLockMs',
    needs: 'KIRO_REDIS_URL',
    default: 10_000,
    min: 1_000,
    max: 600_000,
    doc: 'lifetime of the per-branch lock that keeps two jobs for one branch from running at once on different hosts (renewed while the job runs)',
  }),

  // Webhooks
  KIRO_GITHUB_WEBHOOK_SECRET: secret({
    group: 'webhooks',
    field: 'webhooks.secret',
    minimum: { count: 16, unit: 'bytes', hint: " (the secret typed into the App's or webhook's settings)" },
    doc: "the secret of the GitHub App's (or a repository's) webhook: enables `POST /github/webhook`, where `/kiro` comments, reviews and `kiro` issues start rounds ([docs/steering.md](../steering.md)); the same on every host",
  }),
  KIRO_ALLOWED_BOTS: custom({
    group: 'webhooks',
    field: 'webhooks.allowedBots',
    accepts: 'comma-separated bot logins',
    parse: p.bots,
    doc: 'bot logins (e.g. `renovate[bot]`) whose `/kiro` comments may start work; every other bot is refused',
  }),
} satisfies Record<string, VarSpec<unknown>>;

export const ALL = { ...SCHEMA, ...AGENT_SCHEMA };
export type VarName = keyof typeof ALL;
/** Each variable's parsed value. */
export type Values = { [K in VarName]: ReturnType<(typeof ALL)[K]['parse']> };

export const VARIABLES: ReadonlyArray<[VarName, VarSpec<unknown>]> = Object.entries(ALL) as Array<[VarName, VarSpec<unknown>]>;
