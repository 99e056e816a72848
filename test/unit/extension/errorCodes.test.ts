// The error-code union (shared/errorCodes.ts): the worker's HTTP error bodies use only its
// codes, the extension gives every known code a remedy, and a code it does not know (an
// older or newer worker's) is handled as a plain failure.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, isErrorCode } from '../../../shared/errorCodes.js';
import { isKnownCode, remedyFor } from '../../../extension/worker/errorRemedy.js';
import { SEND_ACTIONS, sendProblemView } from '../../../extension/delegations/sendProblem.js';

const root = new URL('../../../', import.meta.url).pathname;
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('error codes', () => {
  it('lists each code once', () => {
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length, 'no duplicates');
    assert.ok(ERROR_CODES.length >= 30, `about thirty codes or more (${ERROR_CODES.length})`);
  });

  it('every code the worker writes into an HTTP error body is in the union', () => {
    const sent = new Map<string, string>();
    for (const file of sources('worker-service')) {
      for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
        if (!/send\(\{ code: '|statusCode: \d+, code: '|const code = status/.test(line)) continue;
        for (const [, code] of line.matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) if (code) sent.set(code, file);
      }
    }
    assert.ok(sent.size >= 5, `the scan found the error bodies (${[...sent.keys()].join(', ')})`);
    assert.deepEqual(
      [...sent].filter(([code]) => !isErrorCode(code)),
      [],
      'codes sent but not in shared/errorCodes.ts',
    );
  });

  it('gives every known code a remedy, and a code it does not know none', () => {
    for (const code of ERROR_CODES) assert.notEqual(remedyFor(code), 'unknown', code);
    assert.equal(remedyFor('NO_GITHUB_TOKEN'), 'github-sign-in');
    assert.equal(remedyFor('GITHUB_TOKEN_REFUSED'), 'github-sign-in');
    assert.equal(remedyFor('UNAUTHORIZED'), 'worker-credential');
    assert.equal(remedyFor('INSECURE_TRANSPORT'), 'transport');
    assert.equal(remedyFor('QUOTA_EXCEEDED'), 'wait');
    assert.equal(remedyFor('PR_CHANGED'), 'job-ended');
    for (const odd of ['A_CODE_FROM_A_NEWER_WORKER', '', 'unauthorized', '__proto__', 'toString', undefined]) {
      assert.equal(remedyFor(odd), 'unknown', String(odd));
      assert.equal(isKnownCode(odd), false, String(odd));
    }
  });

  it("a send refused with a code this build does not know: the worker's words, and the plain actions", () => {
    const unauthorized = sendProblemView(3, {
      kind: 'unauthorized',
      code: 'A_CODE_FROM_A_NEWER_WORKER',
      message: 'The worker wants something new.',
    });
    assert.match(unauthorized.message, /PR #3 was created, but the job was not sent\. The worker wants something new\./);
    assert.deepEqual(unauthorized.actionIds, ['setWorkerToken', 'openSettings']);
    const rejected = sendProblemView(3, { kind: 'rejected', status: 422, code: 'A_CODE_FROM_A_NEWER_WORKER', message: 'no such thing' });
    assert.match(rejected.message, /refused the job: no such thing/);
    assert.deepEqual(rejected.actionIds, ['openSettings']);
    const quota = sendProblemView(3, {
      kind: 'quota',
      retryAfterSeconds: undefined,
      code: 'A_CODE_FROM_A_NEWER_WORKER',
      message: 'Slow down.',
    });
    assert.deepEqual(quota.actionIds, []);
  });

  it("the notification's buttons carry ids; their titles come from one table, in the same order", () => {
    const view = sendProblemView(1, { kind: 'unreachable', message: 'down' });
    assert.deepEqual(view.actionIds, ['retry', 'setWorkerToken', 'openSettings']);
    assert.deepEqual(
      view.actions,
      view.actionIds.map((id) => SEND_ACTIONS[id]),
    );
  });
});
