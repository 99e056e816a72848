// The form's base branch: the setting, else the repository's default branch; the
// workspace's branch offered when it is on GitHub; a warning for Kiro's own branches.
import assert from 'node:assert/strict';
import { baseBranchWarning, chooseBaseBranch, isKiroBranch } from '../../../shared/baseBranch.js';

describe('base branch of the delegation form', function () {
  const kiro = { kiroPrefix: 'kiro/' };

  it("proposes the repository's default branch, not the workspace's branch, and offers the latter when it is on GitHub", function () {
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: '', defaultBranch: 'main', currentBranch: 'feature/login', currentOnRemote: true }),
      { value: 'main', suggestions: ['feature/login'] },
    );
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: '', defaultBranch: 'main', currentBranch: 'feature/local', currentOnRemote: false }),
      { value: 'main', suggestions: [] },
      'a branch GitHub does not have is not offered',
    );
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: '', defaultBranch: 'develop', currentBranch: 'develop', currentOnRemote: true }),
      { value: 'develop', suggestions: [] },
      'nothing offered twice',
    );
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: '', defaultBranch: 'main', currentBranch: 'kiro/add-x-1764000000000', currentOnRemote: true }),
      { value: 'main', suggestions: ['kiro/add-x-1764000000000'] },
    );
  });

  it('lets the setting win, still offering the default and current branches', function () {
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: 'release', defaultBranch: 'main', currentBranch: 'feature', currentOnRemote: true }),
      { value: 'release', suggestions: ['main', 'feature'] },
    );
    assert.deepEqual(chooseBaseBranch({ ...kiro, setting: 'main', defaultBranch: 'main', currentBranch: 'main', currentOnRemote: true }), {
      value: 'main',
      suggestions: [],
    });
  });

  it('falls back, while GitHub has not answered, to the workspace\'s branch unless it is one of Kiro\'s own, else "main"', function () {
    assert.deepEqual(chooseBaseBranch({ ...kiro, setting: '', currentBranch: 'feature' }), { value: 'feature', suggestions: [] });
    assert.deepEqual(chooseBaseBranch({ ...kiro, setting: '', currentBranch: 'kiro/add-x-1' }), { value: 'main', suggestions: [] });
    assert.deepEqual(chooseBaseBranch({ ...kiro, setting: '' }), { value: 'main', suggestions: [] }, 'detached HEAD or no repository');
    assert.deepEqual(
      chooseBaseBranch({ ...kiro, setting: '', defaultBranch: null, currentBranch: 'trunk' }),
      { value: 'trunk', suggestions: [] },
      'an empty repository has no default branch',
    );
  });

  it("warns when the base is one of Kiro's own branches (the configured prefix), naming the default branch", function () {
    assert.match(
      baseBranchWarning('kiro/add-x-1', { ...kiro, defaultBranch: 'main' }) ?? '',
      /"kiro\/add-x-1" is one of Kiro's own branches \(prefix "kiro\/"\).*Use "main"/,
    );
    assert.match(baseBranchWarning(' bots/fix-1 ', { kiroPrefix: 'bots/' }) ?? '', /^"bots\/fix-1" is one of Kiro's own branches/);
    assert.equal(baseBranchWarning('main', { ...kiro, defaultBranch: 'main' }), undefined);
    assert.equal(baseBranchWarning('kirox/y', kiro), undefined);
    assert.equal(baseBranchWarning('anything', { kiroPrefix: '' }), undefined, 'no prefix: no way to tell');
    assert.equal(isKiroBranch('kiro/a', 'kiro/'), true);
  });
});
