// Every KIRO_* variable the worker reads, once: its kind, default, range, secrecy and meaning.
// It drives the parsing (load.ts), the unknown-name warnings (unknownNames.ts), --check-config
// (check.ts) and docs/worker/configuration.md (`npm run docs:config`, docs.ts). The order is the page's.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAppId } from './githubApp.js';
import { custom, flag, int, oneOf, optionalInt, secret, text, url, type VarSpec } from './kinds.js';
import * as p from './parsers.js';
import { parseAllowlist } from './repoPolicy.js';
import { AGENT_SCHEMA } from './agentSchema.js';

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

export const ALL = { ...SCHEMA, ...AGENT_SCHEMA };
export type VarName = keyof typeof ALL;
/** Each variable's parsed value. */
export type Values = { [K in VarName]: ReturnType<(typeof ALL)[K]['parse']> };

export const VARIABLES: ReadonlyArray<[VarName, VarSpec<unknown>]> = Object.entries(ALL) as Array<[VarName, VarSpec<unknown>]>;
