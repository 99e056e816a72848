// The audit trail's record: GET /audit, the single host's audit.jsonl, the fleet's audit stream.
import Type, { type Static } from 'typebox';

/** One audit record (GET /audit, `audit.jsonl`, the fleet's audit stream). */
export const AUDIT_ACTIONS = ['session', 'submit', 'cancel', 'read'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AuditRecordSchema = Type.Object({
  time: Type.String({ format: 'date-time' }),
  /** A GitHub login, `admin` (the worker token), or `anonymous`. */
  caller: Type.String(),
  action: Type.Unsafe<AuditAction>({ type: 'string', enum: [...AUDIT_ACTIONS] }),
  outcome: Type.Unsafe<'ok' | 'refused'>({ type: 'string', enum: ['ok', 'refused'] }),
  /** The refusal's error code. */
  code: Type.Optional(Type.String()),
  owner: Type.Optional(Type.String()),
  repo: Type.Optional(Type.String()),
  branch: Type.Optional(Type.String()),
  prNumber: Type.Optional(Type.Integer()),
  jobId: Type.Optional(Type.String()),
  requestId: Type.String(),
  ip: Type.String(),
});
export type AuditRecord = Static<typeof AuditRecordSchema>;
export const AuditListSchema = Type.Object({ records: Type.Array(AuditRecordSchema) });
export const AuditQuerySchema = Type.Object(
  { since: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);
