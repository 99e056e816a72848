// The authorization decision as a table: caller × action × facts → answer; and the PR rules.
import assert from 'node:assert/strict';
import { decide, type Action, type Decision, type RepoPermission } from '../../../worker-service/identity/access.js';
import type { Caller } from '../../../worker-service/identity/caller.js';
import { branchRefusal, pullRefusal } from '../../../worker-service/identity/pullRules.js';
import { permissionOf, pullFactsOf } from '../../../worker-service/identity/githubFacts.js';

const user: Caller = { kind: 'user', login: 'alice' };
const admin: Caller = { kind: 'admin', mode: 'github' };

describe('who may do what (identity/access.ts)', function () {
  const table: [Caller, Action, RepoPermission, boolean, Decision][] = [
    [user, 'submit', 'admin', false, 'allow'],
    [user, 'submit', 'maintain', false, 'allow'],
    [user, 'submit', 'write', false, 'allow'],
    [user, 'submit', 'triage', false, 'forbidden'],
    [user, 'submit', 'read', false, 'forbidden'],
    [user, 'submit', 'none', false, 'forbidden'],
    [user, 'read', 'read', false, 'allow'],
    [user, 'read', 'none', true, 'allow'],
    [user, 'read', 'none', false, 'not-found'],
    [user, 'read', 'triage', false, 'allow'],
    [user, 'cancel', 'none', true, 'allow'],
    [user, 'cancel', 'write', false, 'allow'],
    [user, 'cancel', 'read', false, 'forbidden'],
    [user, 'cancel', 'triage', false, 'forbidden'],
    [user, 'cancel', 'none', false, 'not-found'],
    [admin, 'submit', 'none', false, 'allow'],
    [admin, 'read', 'none', false, 'allow'],
    [admin, 'cancel', 'none', false, 'allow'],
    [{ kind: 'admin', mode: 'token' }, 'cancel', 'none', false, 'allow'],
  ];
  for (const [caller, action, permission, isRequester, expected] of table) {
    it(`${caller.kind === 'user' ? 'a user' : 'the admin'} with ${permission}${isRequester ? ', the requester,' : ''} → ${action}: ${expected}`, function () {
      assert.equal(decide(caller, action, { permission, isRequester }), expected);
    });
  }
});

describe('where the worker pushes (identity/pullRules.ts)', function () {
  const req = { owner: 'alice', repo: 'app', branch: 'kiro/x-1', baseBranch: 'main', prNumber: 7 };
  const pr = { state: 'open' as const, head: 'kiro/x-1', headRepo: 'alice/app', base: 'main', defaultBranch: 'main' };
  it('lets an open PR of the same repository with this head and base through, and names what differs otherwise', function () {
    assert.equal(pullRefusal(req, pr), null);
    const refused: [object | null, string, string][] = [
      [null, 'PR_MISMATCH', 'has no pull request #7'],
      [{ ...pr, state: 'closed' }, 'PR_MISMATCH', 'is closed'],
      [{ ...pr, headRepo: 'carol/app' }, 'PR_MISMATCH', 'a fork'],
      [{ ...pr, headRepo: null }, 'PR_MISMATCH', 'a fork'],
      [{ ...pr, head: 'kiro/other' }, 'PR_MISMATCH', 'has the head kiro/other'],
      [{ ...pr, base: 'release' }, 'PR_MISMATCH', 'targets release'],
      [{ ...pr, head: 'main', defaultBranch: 'kiro/x-1' }, 'FORBIDDEN_BRANCH', 'default branch'],
    ];
    for (const [facts, code, words] of refused) {
      const e = pullRefusal(req, facts as typeof pr | null);
      assert.equal(e?.code, code, JSON.stringify(facts));
      assert.match(e?.message ?? '', new RegExp(words));
    }
  });
  it('keeps to the branch prefix (an empty prefix allows any name)', function () {
    assert.equal(branchRefusal('kiro/a', 'kiro/'), null);
    for (const b of ['main', 'kiro', 'kiro/', 'kirox/a', 'release/kiro/a'])
      assert.equal(branchRefusal(b, 'kiro/')?.code, 'FORBIDDEN_BRANCH', b);
    assert.equal(branchRefusal('anything', ''), null);
  });
  it("reads GitHub's answers as input: roles over legacy levels, nothing unknown trusted", function () {
    assert.equal(permissionOf({ permission: 'write', role_name: 'maintain' }), 'maintain');
    assert.equal(permissionOf({ permission: 'read', role_name: 'triage' }), 'triage');
    assert.equal(permissionOf({ permission: 'write', role_name: 'custom-deployer' }), 'write');
    assert.equal(permissionOf({ permission: 'superuser' }), 'none');
    assert.equal(permissionOf(null), 'none');
    assert.throws(() => pullFactsOf({ state: 'open', head: { ref: 'x' } }), /without its state, head or base/);
    assert.deepEqual(
      pullFactsOf({
        state: 'open',
        head: { ref: 'x', repo: { full_name: 'Alice/App' } },
        base: { ref: 'main', repo: { default_branch: 'main' } },
      }),
      { state: 'open', head: 'x', headRepo: 'alice/app', base: 'main', defaultBranch: 'main' },
    );
  });
});
