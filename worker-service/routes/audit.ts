// GET /audit?since=<time>: the audit records from that time on (the admin's only).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema } from '../../shared/protocol.js';
import { AuditListSchema, AuditQuerySchema } from '../../shared/audit.js';
import { WorkerError } from '../errors.js';

const MAX_RECORDS = 10_000;

const audit: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit',
    { schema: { querystring: AuditQuerySchema, response: { 200: AuditListSchema, '4xx': ErrorBodySchema } } },
    async (req) => {
      if (req.caller?.kind !== 'admin')
        throw new WorkerError('FORBIDDEN', "the audit log is for the worker token's holder (KIRO_WORKER_TOKEN)", 403);
      const since = req.query.since ? Date.parse(req.query.since) : 0;
      return { records: await app.jobs.audit.since(since, MAX_RECORDS) };
    },
  );
};

export default audit;
