// Reads the configuration: the KIRO_WORKER_CONFIG file under the environment, every variable
// of the schema parsed on its own, then the rules between variables, then WorkerConfig. Every
// problem is collected (--check-config prints them all); loadConfig throws the first.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { passedVars, presetHosts, PRESETS, type AgentPresetName } from '../agent/presets.js';
import { githubAppProblems } from './githubApp.js';
import { ConfigError, type ConfigWarning, type Source } from './kinds.js';
import { VARIABLES, type Values } from './schema.js';
import type { NetworkPolicy, WorkerConfig } from './types.js';
import { unknownNames } from './unknownNames.js';

export type Origin = 'environment' | 'file';

export interface ConfigReport {
  /** Undefined when there are errors. */
  config: WorkerConfig | undefined;
  errors: ConfigError[];
  warnings: ConfigWarning[];
  /** Each variable that is set: its text and where it came from (secrets too: never print them as is). */
  settings: Record<string, { raw: string; origin: Origin }>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

interface Read {
  src: Source;
  fromFile: Record<string, string> | undefined;
}

/** The file's values under the environment's non-empty ones (non-strings as JSON text). */
function readSources(env: NodeJS.ProcessEnv): Read {
  const file = env.KIRO_WORKER_CONFIG;
  if (!file) return { src: { ...env }, fromFile: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('KIRO_WORKER_CONFIG', `cannot read ${file}: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError('KIRO_WORKER_CONFIG', 'expected a JSON object of KIRO_* variables');
  const fromFile = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return { src: { ...fromFile, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) }, fromFile };
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ConfigReport {
  let read: Read;
  try {
    read = readSources(env);
  } catch (e) {
    if (!ConfigError.is(e)) throw e;
    return { config: undefined, errors: [e], warnings: [], settings: {} };
  }
  const { src, fromFile } = read;
  const errors: ConfigError[] = [];
  const warnings: ConfigWarning[] = unknownNames(env, fromFile);
  const settings: ConfigReport['settings'] = {};
  const values: Record<string, unknown> = {};
  for (const [name, spec] of VARIABLES) {
    const raw = spec.envOnly ? env[name] : src[name];
    if (raw !== undefined && raw !== '')
      settings[name] = { raw, origin: fromFile && name in fromFile && !env[name] ? 'file' : 'environment' };
    if (spec.needs && !src[spec.needs]?.trim()) {
      if (raw) warnings.push({ variable: name, message: `has no effect without ${spec.needs}` });
      values[name] = spec.parse(undefined, name);
      continue;
    }
    try {
      values[name] = spec.parse(raw, name);
    } catch (e) {
      if (!ConfigError.is(e)) throw e;
      errors.push(e);
    }
  }
  // The rules between variables need each of them parsed.
  if (errors.length) return { config: undefined, errors, warnings, settings };
  const v = values as Values;
  errors.push(...crossProblems(v, src));
  return { config: errors.length ? undefined : assemble(v, src), errors, warnings, settings };
}

/** The first problem, thrown; the others on --check-config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { config, errors } = readConfig(env);
  if (config) return config;
  throw errors[0] ?? new Error('no configuration and no error');
}

function presetOf(v: Values): AgentPresetName {
  return v.KIRO_AGENT ?? (v.KIRO_AGENT_COMMAND ? 'custom' : 'kiro');
}

function crossProblems(v: Values, src: Source): ConfigError[] {
  const problems: ConfigError[] = [];
  const token = v.KIRO_WORKER_TOKEN;
  const holdsGithub = Boolean(src.KIRO_GITHUB_TOKEN || src.KIRO_GITHUB_APP_ID);
  if (!isLoopback(v.KIRO_WORKER_HOST) && !token)
    problems.push(
      new ConfigError(
        'KIRO_WORKER_TOKEN',
        `required when listening on ${v.KIRO_WORKER_HOST} (not loopback); refusing to start without one`,
      ),
    );
  if (v.KIRO_AGENT === 'custom' && !v.KIRO_AGENT_COMMAND)
    problems.push(new ConfigError('KIRO_AGENT_COMMAND', "required with KIRO_AGENT=custom: the agent's argv as a JSON array of strings"));
  // The App's own settings come before the token's: their errors say more.
  problems.push(...githubAppProblems(v.KIRO_GITHUB_APP_ID, v.KIRO_GITHUB_APP_PRIVATE_KEY_FILE, Boolean(src.KIRO_GITHUB_TOKEN)));
  // Without a token anything that reaches the port may push with the worker's GitHub credential:
  // only on purpose (the demo), never by leaving a variable out.
  if (!token && holdsGithub && !v.KIRO_ALLOW_UNAUTHENTICATED) {
    problems.push(
      new ConfigError(
        'KIRO_WORKER_TOKEN',
        'required when the worker holds GitHub credentials (KIRO_GITHUB_TOKEN or a GitHub App): without it any local process or web page could have code pushed with them. Set KIRO_WORKER_TOKEN (e.g. `openssl rand -hex 32`), or KIRO_ALLOW_UNAUTHENTICATED=1 on a machine where every local process is yours',
      ),
    );
  }
  if (v.KIRO_AGENT_NETWORK.mode === 'none' && v.KIRO_AGENT_ALLOW_HOSTS.length) {
    problems.push(
      new ConfigError('KIRO_AGENT_ALLOW_HOSTS', 'KIRO_AGENT_NETWORK=none gives agents no network at all: unset one of the two'),
    );
  }
  if (v.KIRO_AUTH === 'github') {
    const secret = v.KIRO_SESSION_SECRET;
    if (!secret)
      problems.push(
        new ConfigError(
          'KIRO_SESSION_SECRET',
          'required with KIRO_AUTH=github: at least 32 random bytes (e.g. `openssl rand -base64 48`), the same on every host of a fleet',
        ),
      );
    else if (Buffer.byteLength(secret) < 32) problems.push(new ConfigError('KIRO_SESSION_SECRET', 'must be at least 32 bytes long'));
    if (!token)
      problems.push(
        new ConfigError('KIRO_WORKER_TOKEN', 'required with KIRO_AUTH=github: it is the admin credential (operators, automation)'),
      );
    if (!holdsGithub)
      problems.push(
        new ConfigError(
          'KIRO_AUTH',
          "KIRO_AUTH=github checks each user's permission with the worker's own GitHub credential: set a GitHub App (KIRO_GITHUB_APP_ID) or KIRO_GITHUB_TOKEN",
        ),
      );
  }
  if (!v.KIRO_GITHUB_WEBHOOK_SECRET && v.KIRO_ALLOWED_BOTS.length)
    problems.push(new ConfigError('KIRO_ALLOWED_BOTS', 'has no effect without KIRO_GITHUB_WEBHOOK_SECRET'));
  if (v.KIRO_GITHUB_WEBHOOK_SECRET && !holdsGithub) {
    problems.push(
      new ConfigError(
        'KIRO_GITHUB_WEBHOOK_SECRET',
        "webhooks start work with the worker's own GitHub credential: set a GitHub App (KIRO_GITHUB_APP_ID) or KIRO_GITHUB_TOKEN",
      ),
    );
  }
  return problems;
}

function networkPolicy(v: Values, preset: AgentPresetName, src: Source): NetworkPolicy {
  const extra = v.KIRO_AGENT_ALLOW_HOSTS;
  const union = (a: string[]) => [...new Set([...a, ...extra])];
  const n = v.KIRO_AGENT_NETWORK;
  if (n.mode === 'default') return { mode: 'allow', hosts: union(presetHosts(preset, v.KIRO_AGENT_KEY_VAR, src)), default: true };
  if (n.mode === 'open') return extra.length ? { mode: 'open', hosts: extra } : { mode: 'open' };
  if (n.mode === 'none') return { mode: 'none' };
  return { mode: 'allow', hosts: union(n.hosts) };
}

function assemble(v: Values, src: Source): WorkerConfig {
  const preset = presetOf(v);
  const keyVar = v.KIRO_AGENT_KEY_VAR;
  const mib = 1024 * 1024;
  const stateDir = v.KIRO_WORKER_STATE_DIR;
  const app = v.KIRO_GITHUB_APP_ID !== undefined && v.KIRO_GITHUB_APP_PRIVATE_KEY_FILE !== undefined;
  return {
    host: v.KIRO_WORKER_HOST,
    port: v.KIRO_WORKER_PORT,
    token: v.KIRO_WORKER_TOKEN,
    slots: v.KIRO_WORKER_SLOTS,
    queueLimit: v.KIRO_WORKER_QUEUE_LIMIT,
    stateDir: isAbsolute(stateDir) ? stateDir : resolve(stateDir),
    jobTimeoutMs: v.KIRO_JOB_TIMEOUT_MS,
    agentPreset: preset,
    agentKeyVar: keyVar,
    agentCommand: v.KIRO_AGENT_COMMAND ?? [...PRESETS[preset].command],
    gitBaseUrl: v.KIRO_GIT_BASE_URL,
    githubApiUrl: v.KIRO_GITHUB_API_URL,
    githubToken: v.KIRO_GITHUB_TOKEN,
    githubAppId: app ? v.KIRO_GITHUB_APP_ID : undefined,
    githubAppPrivateKeyFile: app ? v.KIRO_GITHUB_APP_PRIVATE_KEY_FILE : undefined,
    repoAllowlist: v.KIRO_REPO_ALLOWLIST,
    slotRestartMs: v.KIRO_SLOT_RESTART_MS,
    healthIntervalMs: v.KIRO_HEALTH_INTERVAL_MS,
    agentSilenceMs: v.KIRO_AGENT_SILENCE_MS,
    slotIdleRecycleMs: v.KIRO_SLOT_IDLE_RECYCLE_MS,
    killGraceMs: v.KIRO_KILL_GRACE_MS,
    shutdownGraceMs: v.KIRO_SHUTDOWN_GRACE_MS,
    rateLimitPerMinute: v.KIRO_RATE_LIMIT_PER_MIN,
    bodyLimitBytes: v.KIRO_BODY_LIMIT_BYTES,
    agentEnvAllow: [...new Set([...v.KIRO_AGENT_ENV_ALLOW, ...passedVars(preset, keyVar)])],
    agentName: v.KIRO_AGENT_NAME,
    agentEmail: v.KIRO_AGENT_EMAIL,
    logLevel: v.KIRO_LOG_LEVEL,
    sandbox: {
      enabled: v.KIRO_SANDBOX === 'on',
      network: networkPolicy(v, preset, src),
      homeTemplate: v.KIRO_AGENT_HOME_TEMPLATE,
      readPaths: v.KIRO_AGENT_READ_PATHS,
      memoryBytes: v.KIRO_AGENT_MEMORY_MB * mib,
      maxProcesses: v.KIRO_AGENT_MAX_PROCS,
      maxOutputBytes: v.KIRO_AGENT_MAX_OUTPUT_MB * mib,
      maxDiskBytes: v.KIRO_AGENT_MAX_DISK_MB * mib,
    },
    configFile: v.KIRO_WORKER_CONFIG,
    fleet:
      v.KIRO_REDIS_URL === undefined
        ? undefined
        : {
            redisUrl: v.KIRO_REDIS_URL,
            workerId: v.KIRO_WORKER_ID ?? `${hostname()}:${v.KIRO_WORKER_PORT}`,
            lockMs: v.KIRO_FLEET_LOCK_MS,
            stalledCheckMs: v.KIRO_FLEET_STALLED_CHECK_MS,
            heartbeatMs: v.KIRO_FLEET_HEARTBEAT_MS,
            branchLockMs: v.KIRO_FLEET_BRANCH_LOCK_MS,
          },
    identity: {
      mode: v.KIRO_AUTH,
      sessionSecret: v.KIRO_SESSION_SECRET,
      sessionTtlS: v.KIRO_SESSION_TTL_S,
      branchPrefix: v.KIRO_BRANCH_PREFIX,
      trustProxy: v.KIRO_TRUST_PROXY,
      userMaxActive: v.KIRO_USER_MAX_ACTIVE,
      userMaxJobsPerDay: v.KIRO_USER_MAX_JOBS_PER_DAY,
      userDailyTokens: v.KIRO_USER_DAILY_TOKENS,
    },
    jobMaxTokens: v.KIRO_JOB_MAX_TOKENS,
    streamMaxPerCaller: v.KIRO_STREAM_MAX_PER_CALLER,
    streamIdleMs: v.KIRO_STREAM_IDLE_MS,
    retentionDays: v.KIRO_JOB_RETENTION_DAYS,
    webhooks: v.KIRO_GITHUB_WEBHOOK_SECRET ? { secret: v.KIRO_GITHUB_WEBHOOK_SECRET, allowedBots: v.KIRO_ALLOWED_BOTS } : undefined,
    publicDocs: v.KIRO_PUBLIC_DOCS,
    metricsToken: v.KIRO_METRICS_TOKEN,
  };
}
