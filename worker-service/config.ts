// Configuration from environment variables (a JSON file named by
// KIRO_WORKER_CONFIG may add to them; the environment wins). Bad configuration
// stops the service at start with a message naming the variable.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isServiceSecret } from './agent/command.js';
import { AGENT_PRESETS, isPresetName, passedVars, presetHosts, PRESETS, type AgentPresetName } from './agent/presets.js';
import { parseHostList } from './sandbox/egressPolicy.js';

export interface RepoRule {
  owner: string;
  /** "*" allows every repository of the owner. */
  repo: string;
}

export interface WorkerConfig {
  host: string;
  port: number;
  token: string | undefined;
  slots: number;
  queueLimit: number;
  stateDir: string;
  jobTimeoutMs: number;
  /** KIRO_AGENT: which agent CLI, and so its argv, variables, output reading and exit codes (agent/presets.ts). */
  agentPreset: AgentPresetName;
  /** KIRO_AGENT_KEY_VAR: the variable holding the agent's key when not the preset's; "none": no key checked. */
  agentKeyVar: string | undefined;
  /** The agent's argv template: KIRO_AGENT_COMMAND, else the preset's. */
  agentCommand: string[];
  gitBaseUrl: string;
  githubApiUrl: string;
  githubToken: string | undefined;
  /** A GitHub App (preferred to githubToken): per-job tokens limited to one repository. */
  githubAppId: number | undefined;
  /** Absolute path of the App's private key (PEM); the agent's sandbox must not see this file. */
  githubAppPrivateKeyFile: string | undefined;
  repoAllowlist: RepoRule[] | undefined;
  slotRestartMs: number;
  healthIntervalMs: number;
  agentSilenceMs: number;
  slotIdleRecycleMs: number;
  killGraceMs: number;
  shutdownGraceMs: number;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  /** Variable names passed from the service's environment to the agent: KIRO_AGENT_ENV_ALLOW's, then the preset's (key, configuration home, endpoint). */
  agentEnvAllow: string[];
  agentName: string;
  agentEmail: string;
  logLevel: string;
  sandbox: SandboxConfig;
  /** The KIRO_WORKER_CONFIG file, if any (hidden from agents: it may hold secrets). */
  configFile: string | undefined;
  /** A fleet of hosts sharing a queue on Redis (KIRO_REDIS_URL); undefined: the embedded queue. */
  fleet: FleetConfig | undefined;
  /** Who is asking, and what they may: see worker-service/identity/. */
  identity: IdentityConfig;
  /** KIRO_JOB_MAX_TOKENS: a job whose reported input + output tokens pass this is stopped (BUDGET_EXCEEDED). */
  jobMaxTokens: number | undefined;
  /** KIRO_STREAM_MAX_PER_CALLER: open event and log streams per caller on one host. */
  streamMaxPerCaller: number;
  /** KIRO_STREAM_IDLE_MS: a stream that sent nothing (pings aside) this long is closed; the client resumes. */
  streamIdleMs: number;
  /** KIRO_JOB_RETENTION_DAYS: finished jobs older than this lose their record, log and sandbox folder. */
  retentionDays: number;
  /** GitHub's webhook deliveries (POST /github/webhook); undefined: the route answers 404. */
  webhooks: WebhookConfig | undefined;
  /** KIRO_METRICS_TOKEN: a scraper's bearer token, good for GET /metrics only (a secret: never logged). */
  metricsToken?: string;
}

/** KIRO_GITHUB_WEBHOOK_SECRET and its companions (see worker-service/webhooks/). */
export interface WebhookConfig {
  /** The secret GitHub signs each delivery with (X-Hub-Signature-256). */
  secret: string;
  /** KIRO_ALLOWED_BOTS: bot logins (e.g. `renovate[bot]`) whose `/kiro` comments start work; bots are refused otherwise. */
  allowedBots: string[];
}

/** KIRO_AUTH and its companions. */
export interface IdentityConfig {
  /** `token`: KIRO_WORKER_TOKEN is the one credential. `github`: users exchange a GitHub token for a session; the worker token is the admin's. */
  mode: 'token' | 'github';
  /** KIRO_SESSION_SECRET (github mode): HS256 key of session tokens, the same on every host of a fleet. */
  sessionSecret: string | undefined;
  sessionTtlS: number;
  /** The only branches the worker pushes to start with this (KIRO_BRANCH_PREFIX, default `kiro/`). */
  branchPrefix: string;
  /**
   * KIRO_TRUST_PROXY: how many proxies in front of the worker append to X-Forwarded-For (0: none,
   * the header is not believed). The client's address is the one the outermost of them saw; what
   * the client wrote into the header itself is never taken.
   */
  trustProxy: number;
  userMaxActive: number;
  userMaxJobsPerDay: number;
  /** KIRO_USER_DAILY_TOKENS: a user whose jobs reported this many tokens today gets no new job until midnight UTC. */
  userDailyTokens: number | undefined;
}

/** How the hosts of a fleet share their queue (see worker-service/fleet/). */
export interface FleetConfig {
  /** redis://[user:password@]host:port/db or rediss:// (TLS); never logged. */
  redisUrl: string;
  /** This host's name in /health and in the logs. */
  workerId: string;
  /** A running job's lock: a host silent this long loses it and another host takes the job up. */
  lockMs: number;
  /** How often each host looks for jobs whose lock has lapsed. */
  stalledCheckMs: number;
  /** How often a host says it is alive; unseen for three of these, it is gone from /health. */
  heartbeatMs: number;
  /** The per-branch lock's lifetime (renewed while the job runs). */
  branchLockMs: number;
}

/** How agents are confined (see worker-service/sandbox/). */
export interface SandboxConfig {
  /** false only when KIRO_SANDBOX=off: agents then run unconfined, with a warning everywhere. */
  enabled: boolean;
  network: NetworkPolicy;
  /** Copied into each job's private HOME before the agent starts. */
  homeTemplate: string | undefined;
  /** Extra directories bound read-only at the same path. */
  readPaths: string[];
  memoryBytes: number;
  maxProcesses: number;
  maxOutputBytes: number;
  maxDiskBytes: number;
}

/**
 * What an agent's network reaches (KIRO_AGENT_NETWORK; see worker-service/sandbox/egressPolicy.ts).
 * `allow`: the listed hosts only, through the egress proxy (`default`: the list is the preset's
 * API hosts plus KIRO_AGENT_ALLOW_HOSTS, KIRO_AGENT_NETWORK being unset). `open`: any public
 * address through the same proxy, and `hosts` (KIRO_AGENT_ALLOW_HOSTS) wherever they are.
 * `none`: loopback only. Link-local addresses, this worker and Redis: never, in any mode.
 */
export type NetworkPolicy = { mode: 'open'; hosts?: string[] } | { mode: 'none' } | { mode: 'allow'; hosts: string[]; default?: true };

export const DEFAULT_AGENT_COMMAND = [...PRESETS.kiro.command];

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
  static is(e: unknown): e is ConfigError {
    return e instanceof ConfigError;
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

type Source = Record<string, string | undefined>;

function int(src: Source, name: string, dflt: number, min: number, max: number): number {
  const raw = src[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(src: Source, name: string, dflt: string): string {
  const raw = src[name] || dflt;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
    if (u.username || u.password) throw new ConfigError(name, 'must not carry credentials; use KIRO_GITHUB_TOKEN');
    return raw.replace(/\/+$/, '');
  } catch (e) {
    if (ConfigError.is(e)) throw e;
    throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(raw)}`);
  }
}

/** KIRO_AGENT; unset, it is `custom` when KIRO_AGENT_COMMAND is set (as before presets existed), else `kiro`. */
function agentPreset(src: Source): AgentPresetName {
  const raw = (src.KIRO_AGENT ?? '').trim().toLowerCase();
  if (raw === '') return src.KIRO_AGENT_COMMAND ? 'custom' : 'kiro';
  if (!isPresetName(raw)) throw new ConfigError('KIRO_AGENT', `expected one of ${AGENT_PRESETS.join(', ')}, got ${JSON.stringify(src.KIRO_AGENT)}`);
  if (raw === 'custom' && !src.KIRO_AGENT_COMMAND) throw new ConfigError('KIRO_AGENT_COMMAND', 'required with KIRO_AGENT=custom: the agent\'s argv as a JSON array of strings');
  return raw;
}

function agentKeyVar(src: Source): string | undefined {
  const raw = src.KIRO_AGENT_KEY_VAR?.trim();
  if (!raw) return undefined;
  if (raw !== 'none' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) throw new ConfigError('KIRO_AGENT_KEY_VAR', `expected a variable name or "none", got ${JSON.stringify(raw)}`);
  if (isServiceSecret(raw)) throw new ConfigError('KIRO_AGENT_KEY_VAR', `${raw} is one of the service's own secrets, which never reach the agent`);
  return raw;
}

/** KIRO_AGENT_COMMAND when set (with a preset: its argv replaced, the rest kept), else the preset's. */
function agentCommand(src: Source, preset: AgentPresetName): string[] {
  const raw = src.KIRO_AGENT_COMMAND;
  if (!raw) return [...PRESETS[preset].command];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('KIRO_AGENT_COMMAND', 'expected a JSON array of strings, e.g. ["kiro-cli","chat","--no-interactive","--trust-all-tools","{prompt}"]');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string') || parsed[0] === '') {
    throw new ConfigError('KIRO_AGENT_COMMAND', 'expected a non-empty JSON array of strings');
  }
  return parsed as string[];
}

function sandboxEnabled(src: Source): boolean {
  const raw = (src.KIRO_SANDBOX ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError('KIRO_SANDBOX', `expected "on" (the default) or "off", got ${JSON.stringify(src.KIRO_SANDBOX)}`);
}

/**
 * KIRO_AGENT_NETWORK and KIRO_AGENT_ALLOW_HOSTS. Unset, the network is the preset's model API
 * hosts (worker-service/agent/presets.ts) plus KIRO_AGENT_ALLOW_HOSTS, through the egress proxy;
 * `open`, `none` and `allow:<host>,…` as written (KIRO_AGENT_ALLOW_HOSTS adds to `allow:` and
 * `open`, and has nothing to add to under `none`). Either list may name `@registries`.
 */
function networkPolicy(src: Source, preset: AgentPresetName, keyVar: string | undefined): NetworkPolicy {
  const raw = (src.KIRO_AGENT_NETWORK ?? '').trim();
  let extra: string[];
  try {
    // One parser decides, the egress proxy's own: what passes here is what the proxy allows.
    extra = parseHostList(src.KIRO_AGENT_ALLOW_HOSTS ?? '', true);
  } catch (e) {
    throw new ConfigError('KIRO_AGENT_ALLOW_HOSTS', `${(e as Error).message} (e.g. registry.npmjs.org,pypi.org:443 or @registries)`);
  }
  const union = (a: string[]) => [...new Set([...a, ...extra])];
  if (raw === '') return { mode: 'allow', hosts: union(presetHosts(preset, keyVar, src)), default: true };
  if (raw === 'open') return extra.length ? { mode: 'open', hosts: extra } : { mode: 'open' };
  if (raw === 'none') {
    if (extra.length) throw new ConfigError('KIRO_AGENT_ALLOW_HOSTS', 'KIRO_AGENT_NETWORK=none gives agents no network at all: unset one of the two');
    return { mode: 'none' };
  }
  if (raw.startsWith('allow:')) {
    try {
      return { mode: 'allow', hosts: union(parseHostList(raw.slice('allow:'.length))) };
    } catch (e) {
      throw new ConfigError('KIRO_AGENT_NETWORK', `${(e as Error).message} (e.g. allow:api.anthropic.com,@registries)`);
    }
  }
  throw new ConfigError('KIRO_AGENT_NETWORK', `expected open, none or allow:<host>[,<host>…] (unset: the agent's API hosts and KIRO_AGENT_ALLOW_HOSTS), got ${JSON.stringify(raw)}`);
}

function absolutePaths(src: Source, name: string): string[] {
  const raw = src[name]?.trim();
  if (!raw) return [];
  return raw.split(':').filter(Boolean).map((p) => {
    if (!isAbsolute(p)) throw new ConfigError(name, `paths must be absolute, got ${JSON.stringify(p)}`);
    return resolve(p);
  });
}

function sandboxConfig(src: Source, preset: AgentPresetName, keyVar: string | undefined): SandboxConfig {
  const mib = 1024 * 1024;
  const [homeTemplate] = absolutePaths(src, 'KIRO_AGENT_HOME_TEMPLATE');
  return {
    enabled: sandboxEnabled(src),
    network: networkPolicy(src, preset, keyVar),
    homeTemplate,
    readPaths: absolutePaths(src, 'KIRO_AGENT_READ_PATHS'),
    memoryBytes: int(src, 'KIRO_AGENT_MEMORY_MB', 8192, 16, 1024 * 1024) * mib,
    maxProcesses: int(src, 'KIRO_AGENT_MAX_PROCS', 1024, 8, 1_000_000),
    maxOutputBytes: int(src, 'KIRO_AGENT_MAX_OUTPUT_MB', 64, 1, 64 * 1024) * mib,
    maxDiskBytes: int(src, 'KIRO_AGENT_MAX_DISK_MB', 10240, 1, 16 * 1024 * 1024) * mib,
  };
}

function allowlist(src: Source): RepoRule[] | undefined {
  const raw = src.KIRO_REPO_ALLOWLIST?.trim();
  if (!raw) return undefined;
  return raw.split(',').map((entry) => {
    const m = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100}|\*)$/.exec(entry.trim());
    if (!m?.[1] || !m[2]) throw new ConfigError('KIRO_REPO_ALLOWLIST', `entries are "owner/repo" or "owner/*", got ${JSON.stringify(entry.trim())}`);
    return { owner: m[1].toLowerCase(), repo: m[2].toLowerCase() };
  });
}

/**
 * The GitHub App: both variables or neither, a numeric App ID and a readable RSA
 * private key in PEM. With an App, KIRO_GITHUB_TOKEN is refused rather than
 * silently ignored: a leftover personal token would still sit in the service's
 * environment, reaching every repository its owner can.
 */
function githubApp(src: Source): { githubAppId: number | undefined; githubAppPrivateKeyFile: string | undefined } {
  const id = src.KIRO_GITHUB_APP_ID?.trim() || undefined;
  const file = src.KIRO_GITHUB_APP_PRIVATE_KEY_FILE?.trim() || undefined;
  if (!id && !file) return { githubAppId: undefined, githubAppPrivateKeyFile: undefined };
  if (!id) throw new ConfigError('KIRO_GITHUB_APP_ID', 'required with KIRO_GITHUB_APP_PRIVATE_KEY_FILE: the GitHub App\'s numeric App ID');
  if (!file) throw new ConfigError('KIRO_GITHUB_APP_PRIVATE_KEY_FILE', 'required with KIRO_GITHUB_APP_ID: the path of the private key (.pem) generated for the GitHub App');
  if (!/^[1-9]\d{0,15}$/.test(id)) throw new ConfigError('KIRO_GITHUB_APP_ID', `expected the App's numeric ID, got ${JSON.stringify(id)}`);
  const path = isAbsolute(file) ? file : resolve(file);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('KIRO_GITHUB_APP_PRIVATE_KEY_FILE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let rsa = false;
  try {
    rsa = pem.includes('-----BEGIN') && createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch { /* reported below */ }
  if (!rsa) throw new ConfigError('KIRO_GITHUB_APP_PRIVATE_KEY_FILE', `${path} is not an RSA private key in PEM (expected the .pem file GitHub generated for the App)`);
  if (src.KIRO_GITHUB_TOKEN) {
    throw new ConfigError('KIRO_GITHUB_TOKEN', 'set either a GitHub App (KIRO_GITHUB_APP_ID and KIRO_GITHUB_APP_PRIVATE_KEY_FILE) or KIRO_GITHUB_TOKEN, not both; remove the personal token when using the App');
  }
  return { githubAppId: Number(id), githubAppPrivateKeyFile: path };
}

function fleetConfig(src: Source, port: number): FleetConfig | undefined {
  const raw = src.KIRO_REDIS_URL?.trim();
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('KIRO_REDIS_URL', 'expected redis://host:port/db or rediss://host:port/db');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ConfigError('KIRO_REDIS_URL', `expected a redis:// or rediss:// URL, got the scheme ${JSON.stringify(u.protocol)}`);
  if (u.pathname.length > 1 && !/^\/\d{1,2}$/.test(u.pathname)) throw new ConfigError('KIRO_REDIS_URL', 'the path, if any, is the database number (e.g. /0)');
  const workerId = src.KIRO_WORKER_ID?.trim() || `${hostname()}:${port}`;
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(workerId)) throw new ConfigError('KIRO_WORKER_ID', 'letters, digits, ".", "_", ":" and "-" only, at most 64');
  const lockMs = int(src, 'KIRO_FLEET_LOCK_MS', 8_000, 1_000, 600_000);
  return {
    redisUrl: raw,
    workerId,
    lockMs,
    stalledCheckMs: int(src, 'KIRO_FLEET_STALLED_CHECK_MS', 3_000, 500, 600_000),
    heartbeatMs: int(src, 'KIRO_FLEET_HEARTBEAT_MS', 5_000, 200, 60_000),
    branchLockMs: int(src, 'KIRO_FLEET_BRANCH_LOCK_MS', 10_000, 1_000, 600_000),
  };
}

export function repoAllowed(rules: RepoRule[] | undefined, owner: string, repo: string): boolean {
  if (!rules) return true;
  const o = owner.toLowerCase();
  const r = repo.toLowerCase();
  return rules.some((rule) => rule.owner === o && (rule.repo === '*' || rule.repo === r));
}

function flag(src: Source, name: string): boolean {
  const raw = (src[name] ?? '').trim().toLowerCase();
  if (!['', '0', '1', 'false', 'true', 'off', 'on'].includes(raw)) throw new ConfigError(name, `expected 1 or 0, got ${JSON.stringify(src[name])}`);
  return ['1', 'true', 'on'].includes(raw);
}

function optionalInt(src: Source, name: string, min: number, max: number): number | undefined {
  return src[name] === undefined || src[name] === '' ? undefined : int(src, name, 0, min, max);
}

function identityConfig(src: Source, token: string | undefined): IdentityConfig {
  const mode = (src.KIRO_AUTH ?? '').trim().toLowerCase() || 'token';
  if (mode !== 'token' && mode !== 'github') throw new ConfigError('KIRO_AUTH', `expected "token" (the default: one shared KIRO_WORKER_TOKEN) or "github" (each user signs in with GitHub), got ${JSON.stringify(src.KIRO_AUTH)}`);
  const secret = src.KIRO_SESSION_SECRET || undefined;
  if (mode === 'github') {
    if (!secret) throw new ConfigError('KIRO_SESSION_SECRET', 'required with KIRO_AUTH=github: at least 32 random bytes (e.g. `openssl rand -base64 48`), the same on every host of a fleet');
    if (Buffer.byteLength(secret) < 32) throw new ConfigError('KIRO_SESSION_SECRET', 'must be at least 32 bytes long');
    if (!token) throw new ConfigError('KIRO_WORKER_TOKEN', 'required with KIRO_AUTH=github: it is the admin credential (operators, automation)');
    if (!src.KIRO_GITHUB_TOKEN && !src.KIRO_GITHUB_APP_ID) throw new ConfigError('KIRO_AUTH', 'KIRO_AUTH=github checks each user\'s permission with the worker\'s own GitHub credential: set a GitHub App (KIRO_GITHUB_APP_ID) or KIRO_GITHUB_TOKEN');
  }
  const prefix = src.KIRO_BRANCH_PREFIX ?? 'kiro/';
  if (prefix !== '' && (!/^[A-Za-z0-9._/-]{1,100}$/.test(prefix) || prefix.startsWith('-') || prefix.startsWith('/') || prefix.includes('..'))) {
    throw new ConfigError('KIRO_BRANCH_PREFIX', `expected a branch-name prefix such as "kiro/", got ${JSON.stringify(prefix)}`);
  }
  return {
    mode,
    sessionSecret: secret,
    sessionTtlS: int(src, 'KIRO_SESSION_TTL_S', 43_200, 60, 30 * 86_400),
    branchPrefix: prefix,
    trustProxy: int(src, 'KIRO_TRUST_PROXY', 0, 0, 10),
    userMaxActive: int(src, 'KIRO_USER_MAX_ACTIVE', 5, 1, 10_000),
    userMaxJobsPerDay: int(src, 'KIRO_USER_MAX_JOBS_PER_DAY', 100, 1, 1_000_000),
    userDailyTokens: optionalInt(src, 'KIRO_USER_DAILY_TOKENS', 1, 1e12),
  };
}

function webhookConfig(src: Source): WebhookConfig | undefined {
  const secret = src.KIRO_GITHUB_WEBHOOK_SECRET || undefined;
  const bots = (src.KIRO_ALLOWED_BOTS ?? '').split(',').map((b) => b.trim().toLowerCase()).filter(Boolean);
  for (const b of bots) {
    if (!/^[a-z0-9-]{1,39}(\[bot\])?$/.test(b)) throw new ConfigError('KIRO_ALLOWED_BOTS', `expected bot logins such as renovate[bot], got ${JSON.stringify(b)}`);
  }
  if (!secret) {
    if (bots.length) throw new ConfigError('KIRO_ALLOWED_BOTS', 'has no effect without KIRO_GITHUB_WEBHOOK_SECRET');
    return undefined;
  }
  if (Buffer.byteLength(secret) < 16) throw new ConfigError('KIRO_GITHUB_WEBHOOK_SECRET', 'must be at least 16 bytes long (the secret typed into the App\'s or webhook\'s settings)');
  if (!src.KIRO_GITHUB_TOKEN && !src.KIRO_GITHUB_APP_ID) throw new ConfigError('KIRO_GITHUB_WEBHOOK_SECRET', 'webhooks start work with the worker\'s own GitHub credential: set a GitHub App (KIRO_GITHUB_APP_ID) or KIRO_GITHUB_TOKEN');
  return { secret, allowedBots: bots };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let src: Source = { ...env };
  if (env.KIRO_WORKER_CONFIG) {
    let file: unknown;
    try {
      file = JSON.parse(readFileSync(env.KIRO_WORKER_CONFIG, 'utf8'));
    } catch (e) {
      throw new ConfigError('KIRO_WORKER_CONFIG', `cannot read ${env.KIRO_WORKER_CONFIG}: ${(e as Error).message}`);
    }
    if (!file || typeof file !== 'object' || Array.isArray(file)) throw new ConfigError('KIRO_WORKER_CONFIG', 'expected a JSON object of KIRO_* variables');
    const fromFile = Object.fromEntries(Object.entries(file).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    src = { ...fromFile, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
  }
  const host = src.KIRO_WORKER_HOST || '127.0.0.1';
  const token = src.KIRO_WORKER_TOKEN || undefined;
  if (!isLoopback(host) && !token) throw new ConfigError('KIRO_WORKER_TOKEN', `required when listening on ${host} (not loopback); refusing to start without one`);
  if (token !== undefined && token.length < 16) throw new ConfigError('KIRO_WORKER_TOKEN', 'must be at least 16 characters');
  const stateDir = src.KIRO_WORKER_STATE_DIR || join(homedir(), '.local', 'state', 'kiro-delegate-worker');
  const port = int(src, 'KIRO_WORKER_PORT', 8080, 0, 65535);
  const preset = agentPreset(src);
  const keyVar = agentKeyVar(src);
  // The App's own settings are checked first: their errors say more than the token's.
  const app = githubApp(src);
  // Without a token anything that reaches the port may push with the worker's GitHub credential:
  // only on purpose (the demo), never by leaving a variable out.
  const allowUnauthenticated = flag(src, 'KIRO_ALLOW_UNAUTHENTICATED');
  if (!token && (src.KIRO_GITHUB_TOKEN || src.KIRO_GITHUB_APP_ID) && !allowUnauthenticated) {
    throw new ConfigError('KIRO_WORKER_TOKEN', 'required when the worker holds GitHub credentials (KIRO_GITHUB_TOKEN or a GitHub App): without it any local process or web page could have code pushed with them. Set KIRO_WORKER_TOKEN (e.g. `openssl rand -hex 32`), or KIRO_ALLOW_UNAUTHENTICATED=1 on a machine where every local process is yours');
  }
  return {
    host,
    port,
    token,
    slots: int(src, 'KIRO_WORKER_SLOTS', 2, 1, 64),
    queueLimit: int(src, 'KIRO_WORKER_QUEUE_LIMIT', 100, 0, 100_000),
    stateDir: isAbsolute(stateDir) ? stateDir : resolve(stateDir),
    jobTimeoutMs: int(src, 'KIRO_JOB_TIMEOUT_MS', 600_000, 1_000, 24 * 3600_000),
    agentPreset: preset,
    agentKeyVar: keyVar,
    agentCommand: agentCommand(src, preset),
    gitBaseUrl: url(src, 'KIRO_GIT_BASE_URL', 'https://github.com'),
    githubApiUrl: url(src, 'KIRO_GITHUB_API_URL', 'https://api.github.com'),
    githubToken: src.KIRO_GITHUB_TOKEN || undefined,
    ...app,
    repoAllowlist: allowlist(src),
    slotRestartMs: int(src, 'KIRO_SLOT_RESTART_MS', 5_000, 0, 600_000),
    healthIntervalMs: int(src, 'KIRO_HEALTH_INTERVAL_MS', 60_000, 100, 3600_000),
    agentSilenceMs: int(src, 'KIRO_AGENT_SILENCE_MS', 300_000, 1_000, 24 * 3600_000),
    slotIdleRecycleMs: int(src, 'KIRO_SLOT_IDLE_RECYCLE_MS', 300_000, 0, 24 * 3600_000),
    killGraceMs: int(src, 'KIRO_KILL_GRACE_MS', 5_000, 0, 600_000),
    shutdownGraceMs: int(src, 'KIRO_SHUTDOWN_GRACE_MS', 30_000, 0, 3600_000),
    rateLimitPerMinute: int(src, 'KIRO_RATE_LIMIT_PER_MIN', 600, 1, 1_000_000),
    bodyLimitBytes: int(src, 'KIRO_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    agentEnvAllow: [...new Set([...(src.KIRO_AGENT_ENV_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean), ...passedVars(preset, keyVar)])],
    agentName: src.KIRO_AGENT_NAME || 'Kiro Agent',
    agentEmail: src.KIRO_AGENT_EMAIL || 'kiro-agent@users.noreply.github.com',
    logLevel: src.KIRO_LOG_LEVEL || 'info',
    sandbox: sandboxConfig(src, preset, keyVar),
    configFile: env.KIRO_WORKER_CONFIG ? resolve(env.KIRO_WORKER_CONFIG) : undefined,
    fleet: fleetConfig(src, port),
    identity: identityConfig(src, token),
    jobMaxTokens: optionalInt(src, 'KIRO_JOB_MAX_TOKENS', 1, 1e12),
    streamMaxPerCaller: int(src, 'KIRO_STREAM_MAX_PER_CALLER', 20, 1, 1_000_000),
    streamIdleMs: int(src, 'KIRO_STREAM_IDLE_MS', 600_000, 1_000, 24 * 3600_000),
    retentionDays: int(src, 'KIRO_JOB_RETENTION_DAYS', 14, 1, 3650),
    webhooks: webhookConfig(src),
    metricsToken: src.KIRO_METRICS_TOKEN || undefined,
  };
}
