// The slot's warm worktree between jobs: after a job it is left exactly at its
// HEAD (settle), so the next job only checks out its own commit; whatever the
// last agent left (changes, untracked and ignored files, the TASK.md the service
// wrote) never reaches the next job.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspaces } from '../../../worker-service/git/workspace.js';
import { runGit } from '../../../worker-service/git/run.js';
import { GitHubStandIn } from '../../support/github/server.js';
import { tempDir } from '../../support/helpers.js';
import { makeTaskPr } from '../../support/worker.js';

const author = { name: 'Kiro Agent', email: 'k@e' };

describe('warm worktrees between jobs', function () {
  this.timeout(30_000);
  let gh: GitHubStandIn;
  let token: string;
  let ws: Workspaces;

  before(async function () {
    gh = await GitHubStandIn.start();
    gh.addUser('alice');
    token = gh.addUser('kiro-bot').token;
    await gh.createRepo('alice', 'app', {
      files: [
        { path: 'README.md', contents: '# app\n' },
        { path: '.gitignore', contents: 'build/\n' },
        { path: 'src/a.ts', contents: 'export const a = 1;\n' },
      ],
    });
    gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
    ws = new Workspaces(await tempDir(), gh.gitBaseUrl);
  });
  after(async () => gh.close());

  async function status(dir: string): Promise<string> {
    return runGit(['status', '--porcelain', '--untracked-files=all', '--ignored'], { cwd: dir });
  }

  it('a job with changes: settle resets and cleans, and the next job gets exactly its own commit', async function () {
    await makeTaskPr(gh, 'alice', 'app', 'w-1', 'One');
    await makeTaskPr(gh, 'alice', 'app', 'w-2', 'Two');
    const one = await ws.prepare(0, 'alice', 'app', 'w-1', token);
    // What an agent leaves: a change, an untracked file, ignored build output, a deleted file.
    writeFileSync(join(one.dir, 'README.md'), '# changed\n');
    writeFileSync(join(one.dir, 'notes.txt'), 'scratch\n');
    mkdirSync(join(one.dir, 'build'), { recursive: true });
    writeFileSync(join(one.dir, 'build', 'out.js'), 'compiled\n');
    const sha = await ws.publish(one, { owner: 'alice', repo: 'app', branch: 'w-1', message: 'feat: One', author, token });
    assert.ok(sha);
    assert.equal(existsSync(join(one.dir, 'build', 'out.js')), true, 'ignored output is not committed, and still there');
    await ws.settle(0, 'alice', 'app');
    assert.equal(await status(one.dir), '', 'settled: nothing modified, untracked or ignored');

    const two = await ws.prepare(0, 'alice', 'app', 'w-2', token);
    assert.equal(two.dir, one.dir, 'the same warm worktree');
    assert.equal((await runGit(['rev-parse', 'HEAD'], { cwd: two.dir })).trim(), two.startSha);
    assert.equal(await status(two.dir), '');
    assert.equal(readFileSync(join(two.dir, 'README.md'), 'utf8'), '# app\n', "the last job's change is gone");
    assert.equal(existsSync(join(two.dir, 'notes.txt')), false);
    assert.equal(existsSync(join(two.dir, 'build')), false);
    assert.match(readFileSync(join(two.dir, 'TASK.md'), 'utf8'), /Two/);
  });

  it('a job without changes stays clean (the TASK.md the service wrote is removed) and the next checkout is exact', async function () {
    // A branch without TASK.md: the service writes it, and it must not survive the job.
    const r = gh.model.repo('alice', 'app');
    const main = (await r?.bare.resolve('refs/heads/main')) ?? '';
    await r?.bare.updateRef('refs/heads/w-3', main, '');
    await makeTaskPr(gh, 'alice', 'app', 'w-4', 'Four');
    const three = await ws.prepare(0, 'alice', 'app', 'w-3', token);
    writeFileSync(join(three.dir, 'TASK.md'), '# Three\n');
    assert.equal(
      await ws.publish(three, { owner: 'alice', repo: 'app', branch: 'w-3', message: 'feat: Three', author, token, exclude: ['TASK.md'] }),
      null,
    );
    assert.equal(existsSync(join(three.dir, 'TASK.md')), false, "the service's own TASK.md is removed with no scan");
    await ws.settle(0, 'alice', 'app');
    const four = await ws.prepare(0, 'alice', 'app', 'w-4', token);
    assert.equal(await status(four.dir), '');
    assert.match(readFileSync(join(four.dir, 'TASK.md'), 'utf8'), /Four/);
  });

  it('a recycled worktree is made again from the mirror', async function () {
    await makeTaskPr(gh, 'alice', 'app', 'w-5', 'Five');
    await ws.settle(0, 'alice', 'app');
    await ws.discard(0, 'alice', 'app');
    const five = await ws.prepare(0, 'alice', 'app', 'w-5', token);
    assert.equal(await status(five.dir), '');
    assert.match(readFileSync(join(five.dir, 'TASK.md'), 'utf8'), /Five/);
  });
});
