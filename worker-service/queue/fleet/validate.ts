// Redis is input, not truth: whatever a fleet reads back from Redis (a job's id, its
// record, a BullMQ job's data, a pub/sub message) may have been written by anything that
// can reach Redis, so it is checked here with the same schemas and name rules as an HTTP
// request before it names a path, a repository or an event. What fails is dropped (or,
// for a job, failed with INVALID_RECORD) and never trusted in part.
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import {
  GenerateCodeRequestSchema,
  JobBlockedSchema,
  RequesterSchema,
  JobChangesSchema,
  JobErrorSchema,
  JobIdParamsSchema,
  JobStateSchema,
  JobStatusSchema,
  type GenerateCodeRequest,
  type JobStatus,
} from '../../../shared/protocol.js';
import { isValidBranchName, isValidLogin, isValidOwner, isValidRepo } from '../../../shared/names.js';
import { repoAllowed, type RepoRule } from '../../config.js';
import { scopeKeyOf, type Job } from '../../jobs/job.js';
import { jobIdFor } from './keys.js';

/** The shape jobIdFor gives (a UUID-shaped digest, lowercase hex). */
const DERIVED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// The schema's own pattern (TypeBox keeps it on the schema object, untyped).
const HTTP_ID = new RegExp((JobIdParamsSchema.properties.id as { pattern?: string }).pattern ?? '^$');

/** A fleet job's id: what GET /jobs/:id accepts, and of the shape jobIdFor derives. */
export function isFleetJobId(id: unknown): id is string {
  return typeof id === 'string' && HTTP_ID.test(id) && DERIVED_ID.test(id);
}

/** A request's names by GitHub's and git's full rules, as POST /generate-code checks them; the problem, or null. */
export function requestProblem(r: GenerateCodeRequest, allowlist?: RepoRule[]): string | null {
  if (!isValidOwner(r.owner)) return 'owner is not a valid GitHub account name';
  if (!isValidRepo(r.repo)) return 'repo is not a valid GitHub repository name';
  if (!isValidBranchName(r.branch)) return 'branch is not a valid git branch name';
  if (!isValidBranchName(r.baseBranch)) return 'baseBranch is not a valid git branch name';
  if (r.requestedBy !== undefined && !isValidLogin(r.requestedBy)) return 'requestedBy is not a valid GitHub login';
  if (r.branch === r.baseBranch) return 'branch equals baseBranch';
  if (!repoAllowed(allowlist, r.owner, r.repo)) return `${r.owner}/${r.repo} is not in this worker's allow-list`;
  return null;
}

/** A queued request as a host keeps it: as it was posted, or as a webhook made it (its requester may be a listed bot). */
const StoredRequestSchema = Type.Object(
  { ...GenerateCodeRequestSchema.properties, requestedBy: Type.Optional(RequesterSchema) },
  { additionalProperties: false },
);

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const UsageSchema = Type.Object({
  inputTokens: Type.Integer({ minimum: 0 }),
  outputTokens: Type.Integer({ minimum: 0 }),
  costUsd: Type.Optional(Type.Number({ minimum: 0 })),
});

/**
 * A job's record in Redis (jobs/job.ts's Job). Fields it does not know are let through
 * (a newer host of a rolling upgrade may add one) but never read; the request is exact.
 */
export const JobRecordSchema = Type.Object({
  id: Type.String({ pattern: DERIVED_ID.source }),
  scopeKey: Type.String({ minLength: 1, maxLength: 1024 }),
  request: StoredRequestSchema,
  state: JobStateSchema,
  attempts: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  slotId: Nullable(Type.Integer({ minimum: 0 })),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.String({ maxLength: 32 })),
  commitSha: Nullable(Type.String({ pattern: '^(?:[0-9a-f]{40}|[0-9a-f]{64})$' })),
  error: Nullable(JobErrorSchema),
  outputTail: Type.Array(Type.String()),
  agentPid: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  changes: Type.Optional(Nullable(JobChangesSchema)),
  summary: Type.Optional(Nullable(Type.String())),
  host: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  usage: Type.Optional(Nullable(UsageSchema)),
  blocked: Type.Optional(Nullable(JobBlockedSchema)),
});

// The schema and jobs/job.ts's Job stay one type: a field added to one and not the other, or typed
// otherwise, fails to compile here (the keys are compared too: an optional field is assignable either way).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RecordFields = Static<typeof JobRecordSchema>;
const recordMatchesJob: [Same<RecordFields, Job>, Same<keyof RecordFields, keyof Job>] = [true, true];
void recordMatchesJob;

/** What a BullMQ job of the fleet carries (written once, at submit). */
export const QueuedDataSchema = Type.Object({ request: StoredRequestSchema, createdAt: DateTime });
export type QueuedData = Static<typeof QueuedDataSchema>;

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

const firstError = (schema: TSchema, v: unknown): string => {
  const [e] = Value.Errors(schema, v);
  return e ? `${e.instancePath || '/'} ${e.message}` : 'does not match its schema';
};

/**
 * A record read from `kiro:job:<id>`: the schema, the request's names, and the id its request
 * derives. (Not the allow-list: a job it no longer allows can still be read; the processor checks it before a run.)
 */
export function checkRecord(raw: string, id: string): Checked<Job> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'the record is not JSON' };
  }
  if (!Value.Check(JobRecordSchema, v)) return { ok: false, problem: `the record ${firstError(JobRecordSchema, v)}` };
  const job: Job = v;
  if (job.id !== id) return { ok: false, problem: 'the record names another job id than its key' };
  const names = requestProblem(job.request);
  if (names) return { ok: false, problem: `the record's ${names}` };
  const scope = scopeKeyOf(job.request);
  if (job.scopeKey !== scope || jobIdFor(scope) !== id)
    return { ok: false, problem: "the record's request is not the one its job id was made for" };
  return { ok: true, value: job };
}

/** A BullMQ job's id and data: the id must be the one its request derives. */
export function checkQueued(id: unknown, data: unknown, allowlist?: RepoRule[]): Checked<{ id: string; data: QueuedData }> {
  if (!isFleetJobId(id)) return { ok: false, problem: "the queued job's id is not a job id" };
  if (!Value.Check(QueuedDataSchema, data)) return { ok: false, problem: `the queued job's data ${firstError(QueuedDataSchema, data)}` };
  const names = requestProblem(data.request, allowlist);
  if (names) return { ok: false, problem: `the queued job's ${names}` };
  if (jobIdFor(scopeKeyOf(data.request)) !== id)
    return { ok: false, problem: "the queued job's request is not the one its id was made for" };
  return { ok: true, value: { id, data } };
}

/** The record and the BullMQ job describe one request: a record rewritten after its job was queued does not run. */
export function queuedMatchesRecord(record: Job, data: QueuedData): boolean {
  return Value.Equal(record.request, data.request);
}

/** A pub/sub event between hosts: `{ type: 'slots' }`, or a job's status as GET /jobs/:id gives it. */
export type FleetEvent = { type: 'slots' } | { type: 'job'; job: JobStatus };

const SlotsMessageSchema = Type.Object({ type: Type.Literal('slots') });
const JobMessageSchema = Type.Object({ type: Type.Literal('job'), job: JobStatusSchema });

/**
 * A message of the events channel, or the reason it is dropped. A job's status is cut to
 * the fields the protocol knows (what a newer host adds is not relayed), then checked
 * with the protocol's schema, its id's shape and its names' rules.
 */
export function checkEventMessage(message: string): Checked<FleetEvent> {
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  if (Value.Check(SlotsMessageSchema, v)) return { ok: true, value: { type: 'slots' } };
  if (typeof v !== 'object' || v === null || (v as { type?: unknown }).type !== 'job')
    return { ok: false, problem: 'not a job or slots event' };
  const cleaned = Value.Clean(JobMessageSchema, v);
  if (!Value.Check(JobMessageSchema, cleaned)) return { ok: false, problem: `a job event that ${firstError(JobMessageSchema, cleaned)}` };
  const { job } = cleaned;
  if (!isFleetJobId(job.jobId)) return { ok: false, problem: 'a job event whose jobId is not a job id' };
  if (!isValidOwner(job.owner) || !isValidRepo(job.repo) || !isValidBranchName(job.branch))
    return { ok: false, problem: 'a job event whose owner, repo or branch is not a valid name' };
  if (job.host !== undefined && job.host.length > 256) return { ok: false, problem: 'a job event whose host is too long' };
  return { ok: true, value: { type: 'job', job } };
}

/** A message of the cancel channel: one job id. */
export function checkCancelMessage(message: string): Checked<string> {
  return isFleetJobId(message) ? { ok: true, value: message } : { ok: false, problem: 'a cancel that names no job id' };
}
