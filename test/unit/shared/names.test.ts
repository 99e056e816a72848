import assert from 'node:assert/strict';
import { isValidOwner, isValidRepo, isValidBranchName } from '../../../shared/names.js';
import { confirmationCode, isConfirmationCode } from '../../../shared/confirmation.js';

describe('names', function () {
  it('accepts GitHub owners and refuses what GitHub refuses', function () {
    for (const ok of ['a', 'octo-cat', 'A1', 'x'.repeat(39)]) assert.ok(isValidOwner(ok), ok);
    for (const bad of ['', '-a', 'a-', 'a--b', 'x'.repeat(40), 'a/b', '..', 'a b', 'a_b', 'a.b', 'ä'])
      assert.equal(isValidOwner(bad), false, bad);
  });

  it('accepts repository names and refuses traversal and .git', function () {
    for (const ok of ['app', 'my.repo', 'a_b-c', '.github', 'x'.repeat(100)]) assert.ok(isValidRepo(ok), ok);
    for (const bad of ['', '.', '..', '../x', 'a/b', 'x'.repeat(101), 'a b', 'repo.git', 'a;b', '$(id)'])
      assert.equal(isValidRepo(bad), false, bad);
  });

  it('refuses branch names that look like options or escape quoting', function () {
    for (const bad of ['-x', '--upload-pack=x', 'a b', 'a\nb', 'HEAD..main', 'x.lock', ''])
      assert.equal(isValidBranchName(bad), false, bad);
    for (const ok of ['main', 'feature/x-1', 'kiro/add-login-1764000000000', 'release-1.2', 'ünïcode'])
      assert.ok(isValidBranchName(ok), ok);
  });

  it('confirmation codes are PR<timestamp>', function () {
    assert.equal(confirmationCode(1764000000000), 'PR1764000000000');
    assert.ok(isConfirmationCode('PR1764000000000'));
    assert.equal(isConfirmationCode('PR12'), false);
    assert.equal(isConfirmationCode('pr1764000000000'), false);
  });
});
