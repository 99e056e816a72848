// POST /generate-code: validate, check the allow-list and who may push where, store durably, answer 202.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, GenerateCodeRequestSchema, JobAcceptedSchema } from '../../shared/protocol.js';
import { isValidBranchName, isValidOwner, isValidRepo } from '../../shared/names.js';
import { repoAllowed, type RepoRule } from '../config.js';
import { WorkerError } from '../errors.js';

const generateCode: FastifyPluginAsyncTypebox<{ allowlist: RepoRule[] | undefined }> = async (app, opts) => {
  app.post(
    '/generate-code',
    {
      schema: {
        body: GenerateCodeRequestSchema,
        response: { 200: JobAcceptedSchema, 202: JobAcceptedSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
      },
    },
    async (req, reply) => {
      const body = req.body;
      // The schema gives the outline; git's and GitHub's full rules are checked here.
      if (!isValidOwner(body.owner)) throw new WorkerError('BAD_REQUEST', 'owner is not a valid GitHub account name', 400, 'owner');
      if (!isValidRepo(body.repo)) throw new WorkerError('BAD_REQUEST', 'repo is not a valid GitHub repository name', 400, 'repo');
      if (!isValidBranchName(body.branch)) throw new WorkerError('BAD_REQUEST', 'branch is not a valid git branch name', 400, 'branch');
      if (!isValidBranchName(body.baseBranch))
        throw new WorkerError('BAD_REQUEST', 'baseBranch is not a valid git branch name', 400, 'baseBranch');
      if (body.requestedBy !== undefined && !isValidOwner(body.requestedBy))
        throw new WorkerError('BAD_REQUEST', 'requestedBy is not a valid GitHub login', 400, 'requestedBy');
      if (body.branch === body.baseBranch)
        throw new WorkerError(
          'BAD_REQUEST',
          'branch must differ from baseBranch: the agent never pushes to the base branch',
          400,
          'branch',
        );
      if (!repoAllowed(opts.allowlist, body.owner, body.repo))
        throw new WorkerError('REPO_NOT_ALLOWED', `${body.owner}/${body.repo} is not in this worker's allow-list`, 403, 'repo');
      // Who may push where (identity/guard.ts): refused requests are audited there.
      const { request, release } = await app.guard.admit(req, body);
      const where = { owner: body.owner, repo: body.repo, branch: body.branch, prNumber: body.prNumber };
      let status, created;
      try {
        ({ status, created } = await app.jobs.submit(request));
      } catch (e) {
        if (WorkerError.is(e)) await app.guard.record(req, 'submit', { outcome: 'refused', code: e.code, ...where });
        throw e;
      } finally {
        release();
      }
      await app.guard.record(req, 'submit', { outcome: 'ok', ...where, jobId: status.jobId });
      req.log.info(
        { jobId: status.jobId, repo: `${body.owner}/${body.repo}`, branch: body.branch, created },
        created ? 'job accepted' : 'job already known (idempotency key)',
      );
      return reply.code(created ? 202 : 200).send({ jobId: status.jobId, state: status.state, position: status.position });
    },
  );
};

export default generateCode;
