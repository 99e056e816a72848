// POST /auth/github (KIRO_AUTH=github): a GitHub token, checked once with GET /user on the
// configured GitHub API, becomes a worker session. The GitHub token is used for that one
// question and never stored, logged or passed on.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuthGithubRequestSchema, AuthSessionSchema, ErrorBodySchema } from '../../shared/protocol.js';
import { WorkerError } from '../errors.js';
import { GitHubFactsError } from '../identity/githubFacts.js';

const auth: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/auth/github',
    {
      schema: { body: AuthGithubRequestSchema, response: { 200: AuthSessionSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema } },
    },
    async (req) => {
      const issue = app.issueSession;
      if (!issue)
        throw new WorkerError(
          'NOT_FOUND',
          'this worker uses one shared token (KIRO_AUTH=token): send it as Authorization: Bearer <KIRO_WORKER_TOKEN>',
          404,
        );
      let user;
      try {
        user = await app.githubFacts.user(req.body.token);
      } catch (e) {
        if (e instanceof GitHubFactsError) throw new WorkerError('GITHUB_UNAVAILABLE', `${e.message}; try again shortly`, 502);
        throw e;
      }
      if (!user) {
        await app.guard.record(req, 'session', { outcome: 'refused', code: 'GITHUB_TOKEN_REFUSED' });
        throw new WorkerError(
          'GITHUB_TOKEN_REFUSED',
          'GitHub refused this token (expired, revoked, or for another GitHub host): sign in to GitHub again',
          401,
          'token',
        );
      }
      if (user.type !== 'User') {
        await app.guard.record(req, 'session', { outcome: 'refused', code: 'FORBIDDEN', caller: user.login });
        throw new WorkerError(
          'FORBIDDEN',
          `${user.login} is a ${user.type} account: only people sign in here (automation uses KIRO_WORKER_TOKEN)`,
          403,
          'token',
        );
      }
      const session = issue(user.login);
      await app.guard.record(req, 'session', { outcome: 'ok', caller: user.login });
      return { ...session, login: user.login };
    },
  );
};

export default auth;
