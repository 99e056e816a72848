import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Octokit } from '@octokit/core';
import type { RequestError } from '@octokit/request-error';
import { GitHubStandIn } from '../support/github/server.js';
import { assertResponseMatches, OpenApiMismatch } from '../support/github/openapi.js';
import { gitWithToken, withTempDir } from '../support/helpers.js';
import type { GitError } from '../../worker-service/git/run.js';

describe('GitHub stand-in', function () {
  let gh: GitHubStandIn;
  let alice: { token: string; login: string };
  let bob: { token: string; login: string };
  const client = (token?: string) => new Octokit({ baseUrl: gh.apiUrl, ...(token ? { auth: token } : {}) });

  before(async function () {
    gh = await GitHubStandIn.start();
    alice = gh.addUser('alice');
    bob = gh.addUser('bob');
    await gh.createRepo('alice', 'app', {
      files: [
        { path: 'README.md', contents: '# app\n' },
        { path: 'src/index.ts', contents: 'export {};\n' },
      ],
    });
  });
  after(async () => gh.close());

  describe('GraphQL', function () {
    it('answers a valid query with data from the real repository', async function () {
      const res = await client(alice.token).graphql<{
        repository: { id: string; viewerPermission: string; ref: { target: { oid: string } } };
      }>(
        `query($o: String!, $n: String!) { repository(owner: $o, name: $n) { id viewerPermission ref(qualifiedName: "refs/heads/main") { target { oid } } } }`,
        { o: 'alice', n: 'app' },
      );
      const repo = gh.model.repo('alice', 'app');
      assert.equal(res.repository.viewerPermission, 'ADMIN');
      assert.equal(res.repository.ref.target.oid, await repo?.bare.resolve('refs/heads/main'));
    });

    it('rejects a document with a field GitHub does not have, as GitHub would', async function () {
      await assert.rejects(
        client(alice.token).graphql(`query { repository(owner: "alice", name: "app") { id noSuchField } }`),
        (e: Error & { errors?: { message: string }[] }) =>
          /Cannot query field "noSuchField" on type "Repository"/.test(e.errors?.[0]?.message ?? ''),
      );
    });

    it('rejects a mutation input that does not match the schema', async function () {
      await assert.rejects(
        client(alice.token).graphql(`mutation { createRef(input: { repositoryId: "x", name: "refs/heads/y" }) { ref { id } } }`),
        /oid/,
      );
    });

    it('requires a token', async function () {
      await assert.rejects(client().graphql(`query { viewer { login } }`), (e: RequestError) => e.status === 401);
    });

    it('serves GitHub Enterprise style /api/graphql and github.com style /graphql', async function () {
      const viaGhe = await client(bob.token).graphql<{ viewer: { login: string } }>(`query { viewer { login } }`);
      const viaDotCom = await new Octokit({ baseUrl: gh.origin, auth: bob.token }).graphql<{ viewer: { login: string } }>(
        `query { viewer { login } }`,
      );
      assert.equal(viaGhe.viewer.login, 'bob');
      assert.equal(viaDotCom.viewer.login, 'bob');
    });

    it('runs every mutation of a document even after one fails', async function () {
      const repo = gh.model.repo('alice', 'app');
      const base = await repo?.bare.resolve('refs/heads/main');
      const res = await fetch(gh.graphqlUrl, {
        method: 'POST',
        headers: { authorization: `bearer ${alice.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `mutation($id: ID!, $oid: GitObjectID!) {
            a: createRef(input: { repositoryId: $id, name: "refs/heads/main", oid: $oid }) { ref { id } }
            b: createRef(input: { repositoryId: $id, name: "refs/heads/after-failure", oid: $oid }) { ref { name } }
          }`,
          variables: { id: `R_${Buffer.from(`repo:${repo?.id}`).toString('base64url')}`, oid: base },
        }),
      });
      const body = (await res.json()) as { data: { a: null; b: { ref: { name: string } } }; errors: { type: string; message: string }[] };
      assert.equal(body.data.a, null);
      assert.equal(body.errors[0]?.type, 'UNPROCESSABLE');
      assert.match(body.errors[0]?.message ?? '', /already exists/);
      assert.equal(body.data.b.ref.name, 'after-failure');
      assert.equal(await repo?.bare.resolve('refs/heads/after-failure'), base);
    });
  });

  describe('REST', function () {
    it('serves refs with percent-encoded slashes as Octokit sends them', async function () {
      const res = await client(alice.token).request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
        owner: 'alice',
        repo: 'app',
        ref: 'heads/main',
      });
      assert.equal(res.data.ref, 'refs/heads/main');
      assert.ok(
        gh.requests.some((r) => r.path.includes('heads%2Fmain')),
        'Octokit should have encoded the slash',
      );
    });

    it('answers an unchanged conditional GET with 304 without spending rate limit', async function () {
      const octo = client(bob.token);
      const first = await octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      const etag = first.headers.etag;
      assert.ok(etag);
      const remainingBefore = Number(first.headers['x-ratelimit-remaining']);
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
            owner: 'alice',
            repo: 'app',
            ref: 'heads/main',
            headers: { 'if-none-match': etag },
          }),
          (e: RequestError) => e.status === 304 && Number(e.response?.headers['x-ratelimit-remaining']) === remainingBefore,
        );
      }
      assert.equal(gh.rateLimits.remaining('user:bob', 'core'), remainingBefore);
      // A changed resource answers 200 again and costs one.
      const again = await octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
        owner: 'alice',
        repo: 'app',
        ref: 'heads/main',
        headers: { 'if-none-match': 'W/"stale"' },
      });
      assert.equal(Number(again.headers['x-ratelimit-remaining']), remainingBefore - 1);
    });

    it('creates refs and refuses a duplicate with 422 "Reference already exists"', async function () {
      const octo = client(alice.token);
      const main = await octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      const created = await octo.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: 'alice',
        repo: 'app',
        ref: 'refs/heads/rest-made',
        sha: main.data.object.sha,
      });
      assert.equal(created.status, 201);
      await assert.rejects(
        octo.request('POST /repos/{owner}/{repo}/git/refs', {
          owner: 'alice',
          repo: 'app',
          ref: 'refs/heads/rest-made',
          sha: main.data.object.sha,
        }),
        (e: RequestError) => e.status === 422 && /Reference already exists/.test(e.message),
      );
    });

    it('refuses writes from a user without write permission and hides private repositories', async function () {
      await gh.createRepo('alice', 'secret', { private: true });
      const octo = client(bob.token);
      await assert.rejects(
        octo.request('GET /repos/{owner}/{repo}', { owner: 'alice', repo: 'secret' }),
        (e: RequestError) => e.status === 404,
      );
      const main = await octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      await assert.rejects(
        octo.request('POST /repos/{owner}/{repo}/git/refs', {
          owner: 'alice',
          repo: 'app',
          ref: 'refs/heads/bob-was-here',
          sha: main.data.object.sha,
        }),
        (e: RequestError) => e.status === 403,
      );
    });

    it('runs the plain REST sequence: ref, contents, pull request', async function () {
      const octo = client(alice.token);
      const main = await octo.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { owner: 'alice', repo: 'app', ref: 'heads/main' });
      await octo.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: 'alice',
        repo: 'app',
        ref: 'refs/heads/rest-flow',
        sha: main.data.object.sha,
      });
      const put = await octo.request('PUT /repos/{owner}/{repo}/contents/{path}', {
        owner: 'alice',
        repo: 'app',
        path: 'docs/TASK.md',
        message: 'feat: task',
        content: Buffer.from('# Task\n').toString('base64'),
        branch: 'rest-flow',
      });
      assert.equal(put.status, 201);
      const pr = await octo.request('POST /repos/{owner}/{repo}/pulls', {
        owner: 'alice',
        repo: 'app',
        title: 'Task',
        head: 'rest-flow',
        base: 'main',
      });
      assert.equal(pr.data.head.ref, 'rest-flow');
      assert.equal(pr.data.head.sha, put.data.commit.sha);
      assert.equal(await gh.model.repo('alice', 'app')?.bare.readFile('refs/heads/rest-flow', 'docs/TASK.md'), '# Task\n');
      const got = await octo.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: 'alice',
        repo: 'app',
        pull_number: pr.data.number,
      });
      assert.equal(got.data.title, 'Task');
    });

    it("checks its own responses against GitHub's OpenAPI description", function () {
      assert.throws(
        () => assertResponseMatches('get /repos/{owner}/{repo}/git/ref/{ref}', 200, { ref: 'refs/heads/x', url: 'http://x' }),
        OpenApiMismatch,
      );
      assert.throws(() => assertResponseMatches('get /repos/{owner}/{repo}/git/ref/{ref}', 418, {}), OpenApiMismatch);
    });
  });

  describe('knobs', function () {
    it('injects failures: 5xx, secondary rate limit with retry-after, and counts requests', async function () {
      gh.inject({ method: 'GET', path: /git\/ref\//, status: 502 });
      gh.inject({ method: 'GET', path: /git\/ref\//, status: 403, headers: { 'retry-after': '1' } });
      const get = () => fetch(`${gh.apiUrl}/repos/alice/app/git/ref/heads%2Fmain`, { headers: { authorization: `token ${alice.token}` } });
      const before = gh.count((r) => r.kind === 'rest');
      const r1 = await get();
      const r2 = await get();
      const r3 = await get();
      assert.deepEqual([r1.status, r2.status, r3.status], [502, 403, 200]);
      assert.equal(r2.headers.get('retry-after'), '1');
      assert.match(((await r2.json()) as { message: string }).message, /secondary rate limit/);
      assert.equal(gh.count((r) => r.kind === 'rest') - before, 3);
    });

    it('adds latency to every API request', async function () {
      gh.latencyMs = 120;
      try {
        const t0 = performance.now();
        await fetch(`${gh.apiUrl}/repos/alice/app`, { headers: { authorization: `token ${alice.token}` } });
        assert.ok(performance.now() - t0 >= 115);
      } finally {
        gh.latencyMs = 0;
      }
    });
  });

  describe('git smart HTTP through git http-backend', function () {
    it('clones and pushes with a token', async function () {
      await withTempDir(async (dir) => {
        const url = `${gh.gitBaseUrl}/alice/app.git`;
        await gitWithToken(['clone', '--quiet', url, join(dir, 'wc')], alice.token);
        const wc = join(dir, 'wc');
        assert.equal(await readFile(join(wc, 'src/index.ts'), 'utf8'), 'export {};\n');
        await writeFile(join(wc, 'new.txt'), 'hello\n');
        await gitWithToken(
          ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '--quiet', '-a', '-m', 'x', '--allow-empty'],
          undefined,
          wc,
        );
        await gitWithToken(['add', 'new.txt'], undefined, wc);
        await gitWithToken(['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '--quiet', '-m', 'add new.txt'], undefined, wc);
        await gitWithToken(['push', '--quiet', 'origin', 'HEAD:refs/heads/pushed'], alice.token, wc);
        assert.equal(await gh.model.repo('alice', 'app')?.bare.readFile('refs/heads/pushed', 'new.txt'), 'hello\n');
      });
    });

    it('refuses a push without a token, and a push by a reader', async function () {
      await withTempDir(async (dir) => {
        const wc = join(dir, 'wc');
        await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, wc], bob.token);
        await gitWithToken(['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '--quiet', '--allow-empty', '-m', 'x'], undefined, wc);
        await assert.rejects(gitWithToken(['push', 'origin', 'HEAD:refs/heads/anon'], undefined, wc), (e: GitError) =>
          /401|Authentication/.test(e.stderr),
        );
        await assert.rejects(gitWithToken(['push', 'origin', 'HEAD:refs/heads/bob'], bob.token, wc), (e: GitError) =>
          /403|denied/.test(e.stderr),
        );
        assert.equal(await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/anon'), null);
        assert.equal(await gh.model.repo('alice', 'app')?.bare.resolve('refs/heads/bob'), null);
      });
    });
  });
});
