import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pty from 'node-pty';
import { fakeKiroPath } from '../support/paths.js';
import { withTempDir } from '../support/helpers.js';

function runInPty(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ exitCode: number; signal: number; output: string }> {
  return new Promise((resolve) => {
    const p = pty.spawn(fakeKiroPath, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, cols: 120, rows: 30 });
    let output = '';
    p.onData((d) => (output += d));
    p.onExit(({ exitCode, signal }) => resolve({ exitCode, signal: signal ?? 0, output }));
  });
}

describe('scripted agent (fake-kiro)', function () {
  before(function () {
    if (!existsSync(fakeKiroPath)) execFileSync('npx', ['tsx', 'scripts/build.ts'], { stdio: 'inherit' });
  });

  it('takes its prompt from argv, prints progress and edits files in its cwd', async function () {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'TASK.md'), '# Add a login form\n');
      const prompt = 'Implement TASK.md; it says "$(rm -rf /)"';
      const r = await runInPty(dir, ['chat', '--no-interactive', '--trust-all-tools', prompt]);
      assert.equal(r.exitCode, 0, r.output);
      assert.match(r.output, /Reading TASK\.md/);
      assert.ok(r.output.includes(`prompt ${prompt.length} chars`), 'the prompt must arrive as one argument');
      assert.match(readFileSync(join(dir, 'kiro/IMPLEMENTATION.md'), 'utf8'), /^# Add a login form/);
    });
  });

  it('refuses to run without a terminal', async function () {
    await withTempDir(async (dir) => {
      const r = spawnSync(fakeKiroPath, ['chat', 'x'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /needs a terminal/);
    });
  });

  it('plays its scenarios: no-change, fail, crash', async function () {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'TASK.md'), '# T\n[scenario: fail]\n');
      assert.equal((await runInPty(dir, ['x'])).exitCode, 3);
      assert.equal((await runInPty(dir, ['x'], { FAKE_KIRO_SCENARIO: 'no-change' })).exitCode, 0);
      assert.equal(existsSync(join(dir, 'kiro')), false);
      const crash = await runInPty(dir, ['x'], { FAKE_KIRO_SCENARIO: 'crash' });
      assert.equal(crash.signal, 11);
    });
  });
});
