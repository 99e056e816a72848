// isNameCollision on GitHub's recorded error bodies (test/fixtures/github-errors/): a taken
// branch name is told apart from a lost permission, a missing object and a PR with no commits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorFor, isNameCollision, type GqlError, type RestErrorBody } from '../../../extension/github/graphqlErrors.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/github-errors/${name}`, import.meta.url), 'utf8')) as T;
const errorsOf = (name: string) => fixture<{ errors: GqlError[] }>(name).errors;

describe('isNameCollision on recorded GitHub error bodies', () => {
  it('createRef "A ref named … already exists" (every field failed: theirs has its commit and its PR)', () => {
    const errors = errorsOf('graphql-ref-exists.json');
    assert.match(
      errorFor(errors, 'createRef')?.message ?? '',
      /^A ref named "refs\/heads\/taken" already exists/,
      'the recording is the collision it claims to be',
    );
    assert.equal(isNameCollision(errors), true);
  });

  it('createRef "already exists" while our commit and PR reached their branch (still at the base)', () => {
    const errors = errorsOf('graphql-ref-exists-at-base.json');
    assert.equal(errors.length, 1, 'only createRef failed in this recording');
    assert.equal(isNameCollision(errors), true);
  });

  it('our createRef succeeded but another writer moved the branch first (STALE_DATA on the commit)', () => {
    assert.equal(isNameCollision(errorsOf('github-graphql-commit-stale.json')), true);
  });

  it('REST POST …/git/refs 422 "Reference already exists": from the stand-in and as GitHub documents it', () => {
    assert.equal(isNameCollision(fixture<RestErrorBody>('rest-ref-exists.json')), true);
    assert.equal(isNameCollision(fixture<RestErrorBody>('github-rest-ref-exists.json')), true);
  });

  it('is not a collision: write access lost (FORBIDDEN), a REST 404, a PR with no commits, no errors', () => {
    assert.equal(isNameCollision(errorsOf('github-graphql-forbidden.json')), false);
    assert.equal(isNameCollision(fixture<RestErrorBody>('github-rest-not-found.json')), false);
    assert.equal(isNameCollision(errorsOf('github-graphql-no-commits.json')), false);
    assert.equal(isNameCollision(undefined), false);
    assert.equal(isNameCollision([]), false);
  });

  it('a createRef error that is not "already exists" decides alone: the later fields\' words do not make it a collision', () => {
    const errors: GqlError[] = [
      { type: 'FORBIDDEN', path: ['createRef'], message: 'Resource not accessible by integration' },
      ...errorsOf('graphql-ref-exists.json').filter((e) => e.path?.[0] !== 'createRef'),
    ];
    assert.equal(isNameCollision(errors), false);
  });

  it('reads untrusted shapes without throwing (no message, no path)', () => {
    assert.equal(isNameCollision([{ path: ['createRef'] } as unknown as GqlError]), false);
    assert.equal(isNameCollision([{ message: 'A ref named "x" already exists' }]), false, 'an error without a path names no field');
    assert.equal(isNameCollision({} as RestErrorBody), false);
  });
});
