// The README's `npm run demo` flow, end to end, non-interactively.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../support/paths.js';

describe('npm run demo', function () {
  this.timeout(120_000);
  it('delegates a task with the stand-ins and the agent\'s commit lands on the PR branch', function () {
    const r = spawnSync('npx', ['tsx', 'scripts/demo.ts', '--once'], { cwd: repoRoot, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PR created in \d+ ms: http:\/\/127\.0\.0\.1:\d+\/demo\/sample-app\/pull\/1/);
    assert.match(r.stdout, /Kiro pushed code to PR #1/);
    assert.match(r.stdout, /feat: Implement the login function \(Kiro Agent\)/);
  });
});
