// The worker service's HTTP contract: TypeBox schemas (JSON Schema at run time,
// validated by Fastify) and their static types, used by the worker and the
// extension's client alike.
import Type, { type Static } from 'typebox';
import { JOB_STATES, type JobState } from './jobStates.js';

export const PROTOCOL_VERSION = 1;

/** GitHub owner: alphanumerics and single inner hyphens (checked again in code). */
export const OwnerSchema = Type.String({ minLength: 1, maxLength: 39, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$' });
/** A GitHub login: the same rule as an owner (isValidOwner in names.ts). */
export const LoginSchema = OwnerSchema;
/** Who asked for a job: a login, or a GitHub App's bot (`name[bot]`) listed in KIRO_ALLOWED_BOTS that asked on GitHub (isValidLogin). */
export const RequesterSchema = Type.String({
  minLength: 1,
  maxLength: 44,
  pattern: '^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\\[bot\\])?$',
});
export const RepoSchema = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]{1,100}$' });
/** Branch names get git's full rule set in code (isValidBranchName); this is the cheap outline. */
export const BranchSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s~^:?*\\[\\\\-][^\\s~^:?*\\[\\\\]*$' });
export const IdempotencyKeySchema = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:-]+$' });

export const MAX_TASK_DESCRIPTION = 64 * 1024;

export const GenerateCodeRequestSchema = Type.Object(
  {
    owner: OwnerSchema,
    repo: RepoSchema,
    branch: BranchSchema,
    prNumber: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    baseBranch: BranchSchema,
    // Titles become commit messages: no control characters. Descriptions may hold any text but NUL.
    title: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    taskDescription: Type.String({ minLength: 1, maxLength: MAX_TASK_DESCRIPTION, pattern: '^[^\\u0000]+$' }),
    idempotencyKey: IdempotencyKeySchema,
    /** The delegating user's GitHub login: asked to review once the agent has pushed. Absent from older clients. */
    requestedBy: Type.Optional(LoginSchema),
    /** Whether the extension opened the PR as a draft (the worker checks it on GitHub before marking it ready for review). */
    draft: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type GenerateCodeRequest = Static<typeof GenerateCodeRequestSchema>;

export { JOB_STATES, FINAL_STATES, isFinalState, type JobState } from './jobStates.js';
import type { ErrorCode } from './errorCodes.js';
export const JobStateSchema = Type.Unsafe<JobState>({ type: 'string', enum: [...JOB_STATES] });

export const JobAcceptedSchema = Type.Object({
  jobId: Type.String(),
  state: JobStateSchema,
  /** Jobs ahead of this one in the queue; 0 once it has a slot. */
  position: Type.Integer({ minimum: 0 }),
});
export type JobAccepted = Static<typeof JobAcceptedSchema>;

export const JobErrorSchema = Type.Object({ code: Type.String(), message: Type.String() });

/** One file of the agent's pushed changes, as `git diff --numstat` counts it (a binary file counts no lines). */
export const FileChangeSchema = Type.Object({
  path: Type.String(),
  /** The old path of a renamed file. */
  from: Type.Optional(Type.String()),
  added: Type.Integer({ minimum: 0 }),
  removed: Type.Integer({ minimum: 0 }),
  binary: Type.Optional(Type.Boolean()),
});
export type FileChange = Static<typeof FileChangeSchema>;

/** What a successful job pushed: totals over every file, and the first files (at most MAX_LISTED_CHANGES). */
export const JobChangesSchema = Type.Object({
  files: Type.Array(FileChangeSchema),
  filesChanged: Type.Integer({ minimum: 0 }),
  added: Type.Integer({ minimum: 0 }),
  removed: Type.Integer({ minimum: 0 }),
});
export type JobChanges = Static<typeof JobChangesSchema>;
export const MAX_LISTED_CHANGES = 100;

/** What a job's egress proxy refused: each destination once, at most 20 (see JobStatus.blocked). */
export const JobBlockedSchema = Type.Array(
  Type.Object({
    host: Type.String({ maxLength: 256 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    at: Type.String({ format: 'date-time' }),
    reason: Type.String({ maxLength: 64 }),
    count: Type.Integer({ minimum: 1 }),
  }),
  { maxItems: 20 },
);

export const JobStatusSchema = Type.Object({
  jobId: Type.String(),
  state: JobStateSchema,
  owner: Type.String(),
  repo: Type.String(),
  branch: Type.String(),
  prNumber: Type.Integer(),
  title: Type.String(),
  attempts: Type.Integer({ minimum: 0 }),
  position: Type.Integer({ minimum: 0 }),
  slotId: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  commitSha: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([JobErrorSchema, Type.Null()]),
  outputTail: Type.Array(Type.String()),
  /** After a push: the files it changed. Older workers leave it out. */
  changes: Type.Optional(JobChangesSchema),
  /** Once the agent has exited: its final message (for a plain-text agent, its last lines). Older workers leave it out. */
  summary: Type.Optional(Type.String()),
  /** A fleet on Redis: the id of the host running the job (or that last ran it). */
  host: Type.Optional(Type.String()),
  /**
   * Who asked for the job: the verified GitHub login in `KIRO_AUTH=github` mode, else the
   * login the client named (requestedBy). Older workers leave it out.
   */
  requestedBy: Type.Optional(RequesterSchema),
  /**
   * Tokens (and, where the CLI says, the cost) the agent reported in its JSON events, summed
   * over the job. Absent when the agent reports none (plain-text agents): never a zero that
   * looks measured.
   */
  usage: Type.Optional(
    Type.Object({
      inputTokens: Type.Integer({ minimum: 0 }),
      outputTokens: Type.Integer({ minimum: 0 }),
      costUsd: Type.Optional(Type.Number({ minimum: 0 })),
    }),
  ),
  /**
   * What the agent's network was refused (KIRO_AGENT_NETWORK): each destination once, in the
   * order first refused, with why (`not-allowed`, `private`, `link-local`, `worker`, `redis`)
   * and how often; at most 20. Absent when nothing was refused, and from older workers.
   */
  blocked: Type.Optional(JobBlockedSchema),
});
export type JobStatus = Static<typeof JobStatusSchema>;
export type JobUsage = NonNullable<JobStatus['usage']>;
export type JobBlocked = NonNullable<JobStatus['blocked']>;

/** POST /auth/github (KIRO_AUTH=github): a GitHub token exchanged, once, for a worker session. */
export const AuthGithubRequestSchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[\\x21-\\x7e]+$' }) },
  { additionalProperties: false },
);
export type AuthGithubRequest = Static<typeof AuthGithubRequestSchema>;
/** The session: a signed token to send as `Authorization: Bearer …`, whose it is, and when it lapses. */
export const AuthSessionSchema = Type.Object({
  token: Type.String(),
  login: LoginSchema,
  expiresAt: Type.String({ format: 'date-time' }),
});
export type AuthSession = Static<typeof AuthSessionSchema>;

/** GET /jobs?mine=1[&cursor=…][&limit=…]: the caller's jobs, newest first, across every host of a fleet. */
export const JobListQuerySchema = Type.Object(
  {
    mine: Type.Literal('1'),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]|[1-4][0-9]|50)$' })),
  },
  { additionalProperties: false },
);
export type JobListQuery = Static<typeof JobListQuerySchema>;
export const JobListSchema = Type.Object({
  jobs: Type.Array(JobStatusSchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type JobList = Static<typeof JobListSchema>;
export const MAX_JOBS_PAGE = 50;

export const SLOT_STATES = ['idle', 'busy', 'restarting'] as const;
export type SlotState = (typeof SLOT_STATES)[number];
export const SlotHealthSchema = Type.Object({
  id: Type.Integer({ minimum: 0 }),
  state: Type.Unsafe<SlotState>({ type: 'string', enum: [...SLOT_STATES] }),
  jobId: Type.Union([Type.String(), Type.Null()]),
  since: Type.String({ format: 'date-time' }),
  /** The id of the worker host the slot belongs to (a fleet on Redis); absent from a single worker. */
  host: Type.Optional(Type.String()),
});
export type SlotHealth = Static<typeof SlotHealthSchema>;

/** One live worker host of a fleet sharing a queue on Redis. */
export const HostHealthSchema = Type.Object({
  id: Type.String(),
  slots: Type.Integer({ minimum: 0 }),
  busy: Type.Integer({ minimum: 0 }),
  version: Type.String(),
  accepting: Type.Boolean(),
  lastSeen: Type.String({ format: 'date-time' }),
});
export type HostHealth = Static<typeof HostHealthSchema>;

export const PoolHealthSchema = Type.Object({
  slots: Type.Array(SlotHealthSchema),
  queued: Type.Integer({ minimum: 0 }),
  running: Type.Integer({ minimum: 0 }),
  capacity: Type.Integer({ minimum: 0 }),
  queueLimit: Type.Integer({ minimum: 0 }),
  accepting: Type.Boolean(),
  agent: Type.Object({
    command: Type.String(),
    found: Type.Boolean(),
    message: Type.String(),
    /** KIRO_AGENT: kiro, claude, codex, gemini, opencode or custom. Older workers leave it out. */
    preset: Type.Optional(Type.String()),
    /** What the agent's `--version` printed (its first line); null when it is missing, did not say, or is a custom command (never asked). */
    version: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  }),
  /** How agents are confined; a worker older than the sandbox leaves it out. */
  sandbox: Type.Optional(
    Type.Object({
      enabled: Type.Boolean(),
      limits: Type.Unsafe<'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'none'>({
        type: 'string',
        enum: ['cgroup-v2', 'cgroup-v1', 'rlimit', 'none'],
      }),
      /** The policy in force: "allow: api.anthropic.com:443 + 17 more (default)", "open: any public address", "none". */
      network: Type.String(),
      /** Every host agents may reach (under `open`: those reached even at a private address). Older workers leave it out. */
      allowHosts: Type.Optional(Type.Array(Type.String())),
      warning: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  version: Type.String(),
  protocol: Type.Integer(),
  uptimeSeconds: Type.Number({ minimum: 0 }),
  /**
   * A fleet (KIRO_REDIS_URL): every live host, one entry each; `slots` and `capacity`
   * then cover all of them. A single worker with its embedded queue leaves it out.
   */
  hosts: Type.Optional(Type.Array(HostHealthSchema)),
  /** How callers authenticate (KIRO_AUTH): `token` (one shared token) or `github` (sessions from POST /auth/github). Older workers leave it out. */
  auth: Type.Optional(Type.Unsafe<'token' | 'github'>({ type: 'string', enum: ['token', 'github'] })),
  /** `embedded` (one host, its file queue) or `redis` (a fleet); older workers leave it out. */
  queue: Type.Optional(Type.Unsafe<'embedded' | 'redis'>({ type: 'string', enum: ['embedded', 'redis'] })),
});
export type PoolHealth = Static<typeof PoolHealthSchema>;

/**
 * Error codes of identity and authorization (every code the worker sends: shared/errorCodes.ts):
 * UNAUTHORIZED (401: no or bad credential, or an expired session), GITHUB_TOKEN_REFUSED
 * (401: GitHub refused the token offered to POST /auth/github), FORBIDDEN (403: may read,
 * may not write), FORBIDDEN_BRANCH (403: not a branch the worker may push to), PR_MISMATCH
 * (409: the PR is not open or its head/base are not the request's), QUOTA_EXCEEDED (429:
 * a per-user limit; the message says which and when it clears), PR_CHANGED (a job's PR closed
 * or retargeted before its push), BUDGET_EXCEEDED (a job's reported tokens passed its budget).
 */
export const AUTH_ERROR_CODES = [
  'UNAUTHORIZED',
  'GITHUB_TOKEN_REFUSED',
  'FORBIDDEN',
  'FORBIDDEN_BRANCH',
  'PR_MISMATCH',
  'QUOTA_EXCEEDED',
  'PR_CHANGED',
  'BUDGET_EXCEEDED',
] as const satisfies readonly ErrorCode[];

/** Every error the worker answers with: a machine-readable code, words for a person, the field at fault. */
export const ErrorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

export const JobIdParamsSchema = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

/** The part of PoolHealth that a `slots` event carries: what changes as jobs come and go. */
export const PoolSlotsSchema = Type.Object({
  slots: Type.Array(SlotHealthSchema),
  queued: Type.Integer({ minimum: 0 }),
  running: Type.Integer({ minimum: 0 }),
  capacity: Type.Integer({ minimum: 0 }),
  hosts: Type.Optional(Type.Array(HostHealthSchema)),
});
export type PoolSlots = Static<typeof PoolSlotsSchema>;
