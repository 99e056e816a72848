// Folders tests make with tempDir() do not outlive the test process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

describe('temporary folders of tests', () => {
  it('are removed, with what is in them, when the process that made them exits', () => {
    const script = `import { tempDir } from ${JSON.stringify(join(repoRoot, 'test/support/helpers.ts'))}; const d = await tempDir(); (await import('node:fs')).mkdirSync(d + '/a/b', { recursive: true }); console.log(d);`;
    const dir = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    assert.match(dir, /kiro-test-/);
    assert.equal(existsSync(dir), false, `${dir} is gone`);
  });
});
