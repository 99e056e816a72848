import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { makeBranchName, slugify, sanitizePrefix, randomSuffix } from '../../../shared/branch.js';
import { isValidBranchName } from '../../../shared/names.js';

/** git's own verdict: null when it refuses the name, else its normalised form. */
function gitCheckRefFormat(name: string): string | null {
  if (name.includes('\0')) return null; // cannot even be passed to git as an argument
  const r = spawnSync('git', ['check-ref-format', '--branch', name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const HOSTILE = [
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '--upload-pack=touch /tmp/pwned',
  '-rf',
  'a..b',
  'foo.lock',
  'x/.hidden',
  'a@{1}',
  '@',
  'tab\there',
  'new\nline',
  'nul\u0000byte',
  'bell\u0007',
  'del\u007f',
  'star*',
  'ques?tion',
  'col:on',
  'tilde~1',
  'caret^2',
  'bracket[',
  'back\\slash',
  'slash/',
  '/leading',
  'double//slash',
  'trailing.',
  '$(rm -rf ~)',
  '`id`',
  '; echo hi',
  '| cat',
  'quote\'"',
  '日本語のタスク',
  'Ünïcödé ßtraße',
  '🚀 launch 🚀',
  '\u202eRTL override',
  '\ud800lone surrogate',
  'x'.repeat(5000),
  'Åå ÉÈ',
  'ＦＵＬＬＷＩＤＴＨ',
  'zero\u200bwidth',
];

describe('branch naming', function () {
  this.timeout(60_000);

  it('makes <slug>-<timestamp> with an optional suffix', function () {
    assert.equal(makeBranchName({ name: 'Add login form!', timestamp: 1764000000000 }), 'add-login-form-1764000000000');
    assert.equal(makeBranchName({ name: 'Add login form', timestamp: 1764000000000, suffix: 'k3f9' }), 'add-login-form-1764000000000-k3f9');
    assert.equal(makeBranchName({ name: 'Fix', timestamp: 1, prefix: 'kiro/' }), 'kiro/fix-1');
    assert.equal(makeBranchName({ name: '日本語', timestamp: 5 }), 'task-5');
    assert.equal(slugify('Crème brûlée: make it  crisp'), 'creme-brulee-make-it-crisp');
    assert.equal(sanitizePrefix('../Users//Ana./'), 'users/ana/');
    assert.match(randomSuffix(), /^[a-z0-9]{4}$/);
    assert.throws(() => makeBranchName({ name: 'x', timestamp: -1 }), RangeError);
  });

  it('every generated name passes git check-ref-format --branch, hostile inputs included', function () {
    for (const name of HOSTILE) {
      for (const prefix of ['', 'kiro/', '../--x/', ' / ']) {
        const branch = makeBranchName({ name, prefix, timestamp: 1764000000000, suffix: 'ab12' });
        assert.equal(gitCheckRefFormat(branch), branch, `${JSON.stringify(name)} -> ${branch}`);
      }
    }
  });

  it('property: any unicode name and prefix gives a name git accepts unchanged', function () {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 120 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.nat(),
        (name, prefix, ts) => {
          const branch = makeBranchName({ name, prefix, timestamp: ts });
          return isValidBranchName(branch) && gitCheckRefFormat(branch) === branch;
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: whatever isValidBranchName accepts, git accepts too', function () {
    const alphabet = fc.constantFrom(...'ab/.-_@{}~^:?*[\\ \t\n\u0000\u007féß日🚀lock'.split(''), '.lock', '..', '@{', '//');
    fc.assert(
      fc.property(
        fc.array(alphabet, { minLength: 1, maxLength: 12 }).map((a) => a.join('')),
        (name) => {
          if (!isValidBranchName(name)) return true;
          return gitCheckRefFormat(name) === name;
        },
      ),
      { numRuns: 800 },
    );
    // And the hostile list is refused by our validator wherever git refuses it.
    for (const name of HOSTILE) if (gitCheckRefFormat(name) === null) assert.equal(isValidBranchName(name), false, JSON.stringify(name));
  });

  it('git itself is the judge here (sanity: it refuses an obviously bad name)', function () {
    assert.equal(gitCheckRefFormat('a..b'), null);
    assert.equal(execFileSync('git', ['check-ref-format', '--branch', 'ok-1'], { encoding: 'utf8' }).trim(), 'ok-1');
  });
});
