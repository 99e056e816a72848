// The worker's configuration as the code uses it (loadConfig builds it from the variables of schema.ts).
import type { AgentPresetName } from '../agent/presets.js';
import type { RepoRule } from './repoPolicy.js';

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
  /** KIRO_PUBLIC_DOCS: /openapi.json and /docs are served without a token. */
  publicDocs: boolean;
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
