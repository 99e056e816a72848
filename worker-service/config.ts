// Configuration from environment variables (a JSON file named by
// KIRO_WORKER_CONFIG may add to them; the environment wins). Bad configuration
// stops the service at start with a message naming the variable.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

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
  agentCommand: string[];
  gitBaseUrl: string;
  githubApiUrl: string;
  githubToken: string | undefined;
  repoAllowlist: RepoRule[] | undefined;
  slotRestartMs: number;
  healthIntervalMs: number;
  agentSilenceMs: number;
  slotIdleRecycleMs: number;
  killGraceMs: number;
  shutdownGraceMs: number;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  /** Extra variable names passed from the service's environment to the agent. */
  agentEnvAllow: string[];
  agentName: string;
  agentEmail: string;
  logLevel: string;
}

export const DEFAULT_AGENT_COMMAND = ['kiro-cli', 'chat', '--no-interactive', '--trust-all-tools', '{prompt}'];

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

function agentCommand(src: Source): string[] {
  const raw = src.KIRO_AGENT_COMMAND;
  if (!raw) return DEFAULT_AGENT_COMMAND;
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

function allowlist(src: Source): RepoRule[] | undefined {
  const raw = src.KIRO_REPO_ALLOWLIST?.trim();
  if (!raw) return undefined;
  return raw.split(',').map((entry) => {
    const m = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100}|\*)$/.exec(entry.trim());
    if (!m?.[1] || !m[2]) throw new ConfigError('KIRO_REPO_ALLOWLIST', `entries are "owner/repo" or "owner/*", got ${JSON.stringify(entry.trim())}`);
    return { owner: m[1].toLowerCase(), repo: m[2].toLowerCase() };
  });
}

export function repoAllowed(rules: RepoRule[] | undefined, owner: string, repo: string): boolean {
  if (!rules) return true;
  const o = owner.toLowerCase();
  const r = repo.toLowerCase();
  return rules.some((rule) => rule.owner === o && (rule.repo === '*' || rule.repo === r));
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
  return {
    host,
    port: int(src, 'KIRO_WORKER_PORT', 8080, 0, 65535),
    token,
    slots: int(src, 'KIRO_WORKER_SLOTS', 2, 1, 64),
    queueLimit: int(src, 'KIRO_WORKER_QUEUE_LIMIT', 100, 0, 100_000),
    stateDir: isAbsolute(stateDir) ? stateDir : resolve(stateDir),
    jobTimeoutMs: int(src, 'KIRO_JOB_TIMEOUT_MS', 600_000, 1_000, 24 * 3600_000),
    agentCommand: agentCommand(src),
    gitBaseUrl: url(src, 'KIRO_GIT_BASE_URL', 'https://github.com'),
    githubApiUrl: url(src, 'KIRO_GITHUB_API_URL', 'https://api.github.com'),
    githubToken: src.KIRO_GITHUB_TOKEN || undefined,
    repoAllowlist: allowlist(src),
    slotRestartMs: int(src, 'KIRO_SLOT_RESTART_MS', 5_000, 0, 600_000),
    healthIntervalMs: int(src, 'KIRO_HEALTH_INTERVAL_MS', 60_000, 100, 3600_000),
    agentSilenceMs: int(src, 'KIRO_AGENT_SILENCE_MS', 300_000, 1_000, 24 * 3600_000),
    slotIdleRecycleMs: int(src, 'KIRO_SLOT_IDLE_RECYCLE_MS', 300_000, 0, 24 * 3600_000),
    killGraceMs: int(src, 'KIRO_KILL_GRACE_MS', 5_000, 0, 600_000),
    shutdownGraceMs: int(src, 'KIRO_SHUTDOWN_GRACE_MS', 30_000, 0, 3600_000),
    rateLimitPerMinute: int(src, 'KIRO_RATE_LIMIT_PER_MIN', 600, 1, 1_000_000),
    bodyLimitBytes: int(src, 'KIRO_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    agentEnvAllow: (src.KIRO_AGENT_ENV_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    agentName: src.KIRO_AGENT_NAME || 'Kiro Agent',
    agentEmail: src.KIRO_AGENT_EMAIL || 'kiro-agent@users.noreply.github.com',
    logLevel: src.KIRO_LOG_LEVEL || 'info',
  };
}
