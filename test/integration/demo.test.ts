// The README's `npm run demo` flow, end to end, non-interactively.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { repoRoot } from '../support/paths.js';
import { pollUntil, withTempDir } from '../support/helpers.js';

/** What the demo left in its TMPDIR (tsx's own compile cache aside). */
const leftovers = async (dir: string) => (await readdir(dir)).filter((n) => !n.startsWith('tsx-'));

describe('npm run demo', function () {
  this.timeout(120_000);
  it("delegates a task with the stand-ins and the agent's commit lands on the PR branch", async function () {
    await withTempDir(async (tmp) => {
      const r = spawnSync('npx', ['tsx', 'scripts/demo.ts', '--once'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, TMPDIR: tmp },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /PR created in \d+ ms: http:\/\/127\.0\.0\.1:\d+\/demo\/sample-app\/pull\/1/);
      assert.match(r.stdout, /Kiro pushed code to PR #1/);
      assert.match(r.stdout, /feat: Implement the login function \(Kiro Agent\)/);
      assert.deepEqual(await leftovers(tmp), [], 'no temporary folder left behind');
    });
  });

  it('serves the PR and its diff while it runs; SIGTERM stops it, says so, and removes its temporary folders', async function () {
    await withTempDir(async (tmp) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--no-editor'], {
        cwd: repoRoot,
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await pollUntil(() => out.includes('Ctrl-C stops it all'), {
          timeoutMs: 90_000,
          intervalMs: 100,
          what: `the demo to be ready: ${out}`,
        });
        const prUrl = /PR created in \d+ ms: (\S+)/.exec(out)?.[1] ?? '';
        const branch = /branch (kiro\/\S+)/.exec(out)?.[1] ?? '';
        const conversation = await (await fetch(prUrl)).text();
        assert.match(conversation, /<h1>Implement the login function <span class="n">#1<\/span><\/h1>/);
        assert.ok(conversation.includes(`from <span class="branch">${branch}</span>`), conversation);
        assert.match(conversation, /task: Implement the login function/);
        assert.match(conversation, /feat: Implement the login function/);
        const files = await (await fetch(`${prUrl}/files`)).text();
        assert.match(files, /<span class="add">\+/);
        assert.ok(files.includes('TASK.md'));
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, out);
      assert.match(out, /SIGTERM: stopping the demo/);
      assert.match(out, /Demo stopped: .* removed .*kiro-demo-/);
      assert.deepEqual(await leftovers(tmp), [], 'no temporary folder left behind');
    });
  });
});
