// createPr's GraphQL documents: each one valid against GitHub's published schema, and the
// undo document holding exactly the parts of a failed attempt that were ours.
import assert from 'node:assert/strict';
import { parse, validate } from 'graphql';
import { githubSchema } from '../../support/github/graphql.js';
import { DELEGATE, FINISH, PREPARE, RECOVER, REPO_ID, undoDocument } from '../../../extension/github/createPrQueries.js';

describe("createPr's GraphQL documents", function () {
  this.timeout(20_000);

  it("are valid against GitHub's schema (all six)", () => {
    const undo = undoDocument({ pr: 'PR_1', ref: 'REF_1' });
    assert.ok(undo, 'an undo document for a PR and a branch');
    for (const [name, doc] of Object.entries({ PREPARE, DELEGATE, RECOVER, FINISH, REPO_ID, UNDO: undo.query })) {
      assert.deepEqual(
        validate(githubSchema(), parse(doc)).map((e) => e.message),
        [],
        name,
      );
    }
  });

  it('undo: nothing to undo is no document; a PR alone closes it; a branch alone deletes it', () => {
    assert.equal(undoDocument({}), undefined);
    const pr = undoDocument({ pr: 'PR_1' });
    assert.deepEqual(pr?.variables, { pr: 'PR_1' });
    assert.match(pr?.query ?? '', /^mutation KiroUndo\(\$pr: ID!\) \{ closePr: closePullRequest/);
    assert.doesNotMatch(pr?.query ?? '', /deleteRef/);
    const ref = undoDocument({ ref: 'REF_1' });
    assert.deepEqual(ref?.variables, { ref: 'REF_1' });
    assert.doesNotMatch(ref?.query ?? '', /closePullRequest/);
    assert.deepEqual(undoDocument({ pr: 'PR_1', ref: 'REF_1' })?.variables, { pr: 'PR_1', ref: 'REF_1' });
  });
});
