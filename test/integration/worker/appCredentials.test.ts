// GitHub App credentials against the stand-in: a token per job limited to one
// repository and two permissions, good for git fetch/push and a PR comment on that
// repository only, dead once released; JWTs the stand-in refuses; and a real job
// through the worker configured with the App instead of KIRO_GITHUB_TOKEN.
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RequestError } from '@octokit/request-error';
import { loadConfig } from '../../../worker-service/config.js';
import { Workspaces, type Checkout } from '../../../worker-service/git/workspace.js';
import { githubCommenter } from '../../../worker-service/github/comments.js';
import {
  credentialSource,
  CredentialError,
  JOB_PERMISSIONS,
  CHECK_PERMISSIONS,
  type CredentialSource,
  type JobCredential,
} from '../../../worker-service/github/credentials.js';
import { GitError } from '../../../worker-service/git/run.js';
import type { Job } from '../../../worker-service/jobs/job.js';
import { makeAppKey, type AppKey } from '../../support/github/apps.js';
import type { GitHubApp, Repo } from '../../support/github/model.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { startWorker, workerEnv, WorkerClient, makeTaskPr, jobRequest, WORKER_TOKEN } from '../../support/worker.js';

const AUTHOR = { name: 'Kiro Agent', email: 'kiro-agent@users.noreply.github.com' };
const BOT = 'kiro-delegate[bot]';

/** A JWT as an App would sign it, with whatever claims a test wants. */
function jwt(
  privateKeyPem: string,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' },
): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc(header)}.${enc(payload)}`;
  return `${data}.${sign('RSA-SHA256', Buffer.from(data), privateKeyPem).toString('base64url')}`;
}

/** A finished job as the pool hands it to the commenter. */
function endedJob(owner: string, repo: string, prNumber: number): Job {
  const now = new Date().toISOString();
  return {
    id: `job-${repo}-${prNumber}`,
    scopeKey: 'x',
    request: jobRequest(owner, repo, `b-${prNumber}`, prNumber, 'Scoped'),
    state: 'no-changes',
    attempts: 1,
    slotId: 0,
    createdAt: now,
    startedAt: now,
    finishedAt: now,
    exitCode: 0,
    signal: null,
    commitSha: null,
    error: { code: 'NO_CHANGES', message: 'the agent finished without changing any file' },
    outputTail: ['Nothing to change.'],
  };
}

describe('GitHub App credentials', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let dir: string;
  let key: AppKey;
  let ghApp: GitHubApp;
  let acme: { token: string };
  let repoA: Repo;
  let repoB: Repo;
  let repoC: Repo;
  let source: CredentialSource;
  let seq = 0;
  const nextBranch = (what: string) => `${what}-${Date.now()}-${seq++}`;
  // A worker holding GitHub credentials has a token of its own (config.ts refuses one without).
  const appEnv = () => ({
    KIRO_GITHUB_APP_ID: String(ghApp.id),
    KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile,
    KIRO_GITHUB_API_URL: gh.apiUrl,
    KIRO_GIT_BASE_URL: gh.gitBaseUrl,
    KIRO_WORKER_TOKEN: WORKER_TOKEN,
  });

  before(async function () {
    gh = await GitHubStandIn.start();
    dir = await tempDir();
    key = await makeAppKey(dir);
    acme = gh.addUser('acme');
    repoA = await gh.createRepo('acme', 'app-a', { private: true });
    repoB = await gh.createRepo('acme', 'app-b', { private: true });
    repoC = await gh.createRepo('acme', 'public-c');
    await gh.createRepo('elsewhere', 'app', { private: true });
    ghApp = gh.addApp('kiro-delegate', key.publicKeyPem);
    gh.install(ghApp, 'acme');
    source = credentialSource(loadConfig(appEnv()));
  });
  after(async () => {
    await gh.close();
    await rm(dir, { recursive: true, force: true });
  });

  const issuedSince = (n: number) => gh.model.installationTokens.slice(n);

  describe('the credential source', function () {
    let cred: JobCredential;
    let ws: Workspaces;
    let prA: number;
    let prB: number;

    before(async function () {
      ws = new Workspaces(await tempDir(), gh.gitBaseUrl);
      const before = gh.model.installationTokens.length;
      cred = await source.forRepository('acme', 'app-a');
      const [issued, ...more] = issuedSince(before);
      assert.ok(issued);
      assert.equal(more.length, 0);
    });

    it("gets a token for the one repository, with contents and pull requests write only, from the App's JWT", async function () {
      assert.equal(cred.kind, 'app');
      assert.match(cred.token ?? '', /^ghs_/);
      const issued = gh.model.installationTokens.find((t) => t.token === cred.token);
      assert.ok(issued);
      assert.deepEqual([...issued.repositoryIds], [repoA.id]);
      assert.equal(issued.selected, true);
      assert.deepEqual(issued.permissions, JOB_PERMISSIONS);
      assert.equal(
        gh.count((r) => r.method === 'GET' && r.path === '/api/v3/repos/acme/app-a/installation' && r.status === 200),
        1,
      );
      assert.equal(
        gh.count((r) => r.method === 'POST' && /^\/api\/v3\/app\/installations\/\d+\/access_tokens$/.test(r.path) && r.status === 201),
        1,
      );
    });

    it('makes a new token for every job (even two at once), looking the installation up only once', async function () {
      const before = gh.model.installationTokens.length;
      const [x, y] = await Promise.all([source.forRepository('acme', 'app-a'), source.forRepository('acme', 'app-a')]);
      assert.ok(x?.token && y?.token);
      assert.equal(new Set([cred.token, x.token, y.token]).size, 3, 'no token is shared between jobs');
      assert.equal(issuedSince(before).length, 2);
      assert.equal(
        gh.count((r) => r.path === '/api/v3/repos/acme/app-a/installation'),
        1,
        'the installation id is cached per repository',
      );
      await Promise.all([x.release(), y.release()]);
      assert.ok(issuedSince(before).every((t) => t.revokedAt !== null));
    });

    it('fetches and pushes repository A with it through Workspaces', async function () {
      const branch = nextBranch('scoped');
      prA = (await makeTaskPr(gh, 'acme', 'app-a', branch, 'Scoped')).number;
      const checkout = await ws.prepare(0, 'acme', 'app-a', branch, cred.token);
      assert.equal(checkout.startSha, await repoA.bare.resolve(`refs/heads/${branch}`));
      await writeFile(join(checkout.dir, 'SCOPED.md'), 'pushed with an installation token\n');
      const sha = await ws.publish(checkout, {
        owner: 'acme',
        repo: 'app-a',
        branch,
        message: 'feat: Scoped',
        author: AUTHOR,
        token: cred.token,
      });
      assert.ok(sha);
      assert.equal(await repoA.bare.resolve(`refs/heads/${branch}`), sha);
      assert.equal(await repoA.bare.readFile(`refs/heads/${branch}`, 'SCOPED.md'), 'pushed with an installation token\n');
      assert.ok(
        gh.count((r) => r.kind === 'git' && r.user === BOT && r.path === '/acme/app-a.git/git-receive-pack' && r.status === 200) >= 1,
      );
    });

    it('is refused by repository B for fetch and push, and by a public repository for push', async function () {
      const branchB = nextBranch('other');
      prB = (await makeTaskPr(gh, 'acme', 'app-b', branchB, 'Other')).number;
      await assert.rejects(
        ws.prepare(0, 'acme', 'app-b', branchB, cred.token),
        (e: unknown) => GitError.is(e) && /not found|404/i.test(e.stderr),
      );
      // A checkout of B made with the owner's token, then pushed with A's token.
      const headB = await repoB.bare.resolve(`refs/heads/${branchB}`);
      const checkoutB: Checkout = await ws.prepare(1, 'acme', 'app-b', branchB, acme.token);
      await writeFile(join(checkoutB.dir, 'INTRUDER.md'), 'should never land\n');
      await assert.rejects(
        ws.publish(checkoutB, {
          owner: 'acme',
          repo: 'app-b',
          branch: branchB,
          message: 'feat: Intruder',
          author: AUTHOR,
          token: cred.token,
        }),
        (e: unknown) => GitError.is(e),
      );
      assert.equal(await repoB.bare.resolve(`refs/heads/${branchB}`), headB, 'nothing landed on B');
      // A public repository: readable by anyone, as on GitHub, but not writable with A's token.
      const branchC = nextBranch('public');
      await makeTaskPr(gh, 'acme', 'public-c', branchC, 'Public');
      const headC = await repoC.bare.resolve(`refs/heads/${branchC}`);
      const checkoutC = await ws.prepare(0, 'acme', 'public-c', branchC, cred.token);
      await writeFile(join(checkoutC.dir, 'INTRUDER.md'), 'should never land\n');
      await assert.rejects(
        ws.publish(checkoutC, {
          owner: 'acme',
          repo: 'public-c',
          branch: branchC,
          message: 'feat: Intruder',
          author: AUTHOR,
          token: cred.token,
        }),
        (e: unknown) => GitError.is(e) && /403|denied/i.test(e.stderr),
      );
      assert.equal(await repoC.bare.resolve(`refs/heads/${branchC}`), headC, 'nothing landed on the public repository');
    });

    it("comments on A's pull request, and is refused on B's", async function () {
      const comment = githubCommenter(gh.apiUrl);
      await comment(endedJob('acme', 'app-a', prA), cred.token);
      const made = repoA.comments.find((c) => c.issueNumber === prA);
      assert.equal(made?.author, BOT);
      assert.match(made?.body ?? '', /finished without changing any file/);
      await assert.rejects(
        comment(endedJob('acme', 'app-b', prB), cred.token),
        (e: unknown) => e instanceof RequestError && e.status === 404,
      );
      assert.equal(repoB.comments.length, 0);
    });

    it('after release() the token is refused for fetch, push and comments; releasing again does nothing', async function () {
      const branch = nextBranch('released');
      const pr = await makeTaskPr(gh, 'acme', 'app-a', branch, 'Released');
      const checkout = await ws.prepare(0, 'acme', 'app-a', branch, cred.token);
      await cred.release();
      const issued = gh.model.installationTokens.find((t) => t.token === cred.token);
      assert.ok(issued?.revokedAt, 'the stand-in revoked it');
      assert.equal(
        gh.count((r) => r.method === 'DELETE' && r.path === '/api/v3/installation/token' && r.status === 204),
        3,
      );
      await assert.rejects(ws.fetchBranch('acme', 'app-a', branch, cred.token), (e: unknown) => GitError.is(e));
      await writeFile(join(checkout.dir, 'LATE.md'), 'too late\n');
      await assert.rejects(
        ws.publish(checkout, { owner: 'acme', repo: 'app-a', branch, message: 'feat: Late', author: AUTHOR, token: cred.token }),
        (e: unknown) => GitError.is(e),
      );
      assert.equal(await repoA.bare.readFile(`refs/heads/${branch}`, 'LATE.md'), null);
      await assert.rejects(
        githubCommenter(gh.apiUrl)(endedJob('acme', 'app-a', pr.number), cred.token),
        (e: unknown) => e instanceof RequestError && e.status === 404,
      );
      await cred.release();
      assert.equal(
        gh.count((r) => r.path === '/api/v3/installation/token'),
        3,
        'a second release asks nothing',
      );
    });

    it('says plainly when the App is not installed on the repository', async function () {
      await assert.rejects(
        source.forRepository('elsewhere', 'app'),
        (e: unknown) => CredentialError.is(e) && e.code === 'APP_NOT_INSTALLED' && /not installed on elsewhere\/app/.test(e.message),
      );
    });
  });

  describe("the stand-in's JWT check", function () {
    const now = () => Math.floor(Date.now() / 1000);
    const ask = async (token: string) =>
      (
        await fetch(`${gh.apiUrl}/repos/acme/app-a/installation`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json' },
        })
      ).status;

    it("accepts the App's own JWT and refuses one signed with another key, expired, from the future, too long-lived, or of another issuer", async function () {
      const other = await makeAppKey(dir, 'other.pem');
      const good = { iat: now() - 30, exp: now() + 540, iss: ghApp.id };
      assert.equal(await ask(jwt(key.privateKeyPem, good)), 200);
      assert.equal(await ask(jwt(key.privateKeyPem, { ...good, iss: ghApp.clientId })), 200, 'the client id is an issuer too');
      assert.equal(await ask(jwt(other.privateKeyPem, good)), 401, 'wrong key');
      assert.equal(await ask(jwt(key.privateKeyPem, { ...good, iat: now() - 700, exp: now() - 100 })), 401, 'expired');
      assert.equal(await ask(jwt(key.privateKeyPem, { ...good, iat: now() + 300 })), 401, 'issued in the future');
      assert.equal(await ask(jwt(key.privateKeyPem, { ...good, exp: now() + 3600 })), 401, 'lives too long');
      assert.equal(await ask(jwt(key.privateKeyPem, { ...good, iss: 999_999 })), 401, 'unknown App');
      assert.equal(await ask(jwt(key.privateKeyPem, good, { alg: 'none', typ: 'JWT' })), 401, 'alg none');
      assert.equal(await ask('not.a.jwt'), 401);
      assert.equal(await ask(acme.token), 401, 'a user token is no App JWT');
    });

    it("refuses the worker's source when its key is not the App's", async function () {
      const wrong = await makeAppKey(dir, 'wrong.pem');
      const impostor = credentialSource(loadConfig({ ...appEnv(), KIRO_GITHUB_APP_PRIVATE_KEY_FILE: wrong.privateKeyFile }));
      const before = gh.model.installationTokens.length;
      await assert.rejects(
        impostor.forRepository('acme', 'app-a'),
        (e: unknown) => CredentialError.is(e) && e.code === 'APP_REQUEST_FAILED' && /401/.test(e.message),
      );
      assert.equal(issuedSince(before).length, 0);
    });

    it("refuses token requests beyond the installation: another owner's repository, more permissions than granted", async function () {
      const inst = gh.model.installationFor(ghApp, repoA);
      assert.ok(inst);
      const post = (body: unknown) =>
        fetch(`${gh.apiUrl}/app/installations/${inst.id}/access_tokens`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${jwt(key.privateKeyPem, { iat: now() - 30, exp: now() + 540, iss: ghApp.id })}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
        });
      assert.equal((await post({ repositories: ['app-a'], permissions: { contents: 'write' } })).status, 201);
      assert.equal((await post({ repositories: ['app-a'], permissions: { administration: 'write' } })).status, 422);
      assert.equal((await post({ repository_ids: [gh.model.repo('elsewhere', 'app')?.id] })).status, 422);
      assert.equal((await post({ repositories: ['no-such-repo'] })).status, 422);
    });
  });

  describe('a job through the worker configured with the App', function () {
    it('pushes with a token made for that one repository and revokes it after the job; a failure is commented, then revoked', async function () {
      const stateDir = await tempDir();
      // No KIRO_GITHUB_TOKEN (the service refuses both), no injected commenter: comments go through Octokit.
      const w = await startWorker(workerEnv(gh, '', stateDir, { ...appEnv(), KIRO_GITHUB_TOKEN: '' }), {
        agentEnv: { FAKE_KIRO_STEP_MS: '10' },
      });
      try {
        assert.equal(w.config.githubToken, undefined);
        const c = new WorkerClient(w.url);

        const branch = nextBranch('app-job');
        const pr = await makeTaskPr(gh, 'acme', 'app-a', branch, 'App job');
        const mark = gh.model.installationTokens.length;
        const job = await c.submit(jobRequest('acme', 'app-a', branch, pr.number, 'App job'));
        const done = await c.waitFor(job.jobId, ['succeeded', 'failed', 'no-changes']);
        assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
        const [head] = await repoA.bare.log(`refs/heads/main..refs/heads/${branch}`);
        assert.equal(head?.oid, done.commitSha, 'the push landed');
        assert.equal(head?.subject, 'feat: App job');
        // One token for the job; and one, kept for the installation, with which the worker reads the PR before it queues and pushes.
        const issued = issuedSince(mark).filter((t) => JSON.stringify(t.permissions) === JSON.stringify(JOB_PERMISSIONS));
        assert.equal(issued.length, 1, 'one token for the job');
        const checks = issuedSince(mark).filter((t) => JSON.stringify(t.permissions) === JSON.stringify(CHECK_PERMISSIONS));
        assert.equal(checks.length, 1, 'one read-only token for the checks');
        assert.equal(checks[0]?.selected, false);
        const [token] = issued;
        assert.ok(token);
        assert.deepEqual([...token.repositoryIds], [repoA.id]);
        assert.equal(token.selected, true);
        assert.deepEqual(token.permissions, JOB_PERMISSIONS);
        await pollUntil(() => token.revokedAt !== null, { what: "the job's token to be revoked" });
        const stored =
          readFileSync(join(stateDir, 'jobs', `${job.jobId}.json`), 'utf8') +
          readFileSync(join(stateDir, 'logs', `${job.jobId}.log`), 'utf8');
        assert.equal(stored.includes(token.token), false, 'the token is in no job record or log');

        const failBranch = nextBranch('app-fail');
        const failPr = await makeTaskPr(gh, 'acme', 'app-a', failBranch, 'App fail', '\n[scenario: fail]');
        const mark2 = gh.model.installationTokens.length;
        const failed = await c.submit(jobRequest('acme', 'app-a', failBranch, failPr.number, 'App fail'));
        assert.equal((await c.waitFor(failed.jobId, ['succeeded', 'failed', 'no-changes'])).error?.code, 'AGENT_FAILED');
        const commentPath = `/api/v3/repos/acme/app-a/issues/${failPr.number}/comments`;
        await pollUntil(() => gh.count((r) => r.method === 'POST' && r.path === commentPath && r.user === BOT && r.status === 201) === 1, {
          what: 'a PR comment by the App',
        });
        const comment = repoA.comments.find((x) => x.issueNumber === failPr.number);
        assert.ok(comment);
        assert.equal(comment.author, BOT);
        assert.equal(
          issuedSince(mark2).filter((t) => JSON.stringify(t.permissions) === JSON.stringify(CHECK_PERMISSIONS)).length,
          0,
          "the checks' token is kept, not made again",
        );
        const [failToken] = issuedSince(mark2);
        assert.ok(failToken);
        await pollUntil(() => failToken.revokedAt !== null, { what: "the failed job's token to be revoked" });
        assert.ok((failToken.revokedAt ?? 0) >= Date.parse(comment.createdAt), 'revoked after the comment was made');

        // Where the App is not installed, the request is refused with a clear reason (the worker cannot even read the PR) and no token is made.
        const mark3 = gh.model.installationTokens.length;
        const elsewhere = gh.model.repo('elsewhere', 'app');
        assert.ok(elsewhere);
        const eBranch = nextBranch('not-installed');
        const ePr = await makeTaskPr(gh, 'elsewhere', 'app', eBranch, 'Elsewhere');
        const refused = await c.request('POST', '/generate-code', jobRequest('elsewhere', 'app', eBranch, ePr.number, 'Elsewhere'));
        assert.equal(refused.status, 403);
        const refusal = (await refused.json()) as { code: string; message: string };
        assert.equal(refusal.code, 'CREDENTIALS_FAILED');
        assert.match(refusal.message, /GitHub App is not installed on elsewhere\/app/);
        assert.equal(issuedSince(mark3).length, 0);
      } finally {
        await w.close();
      }
    });
  });
});
