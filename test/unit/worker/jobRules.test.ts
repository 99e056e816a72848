// The rules both queues keep (jobs/rules.ts): the idempotency comparison, the branch key, finishing a job.
import assert from 'node:assert/strict';
import type { GenerateCodeRequest } from '../../../shared/protocol.js';
import { WorkerError } from '../../../worker-service/errors.js';
import { newJob } from '../../../worker-service/queue/fleet/records.js';
import { branchKeyOf, finishJob, idempotencyConflict, sameRequest } from '../../../worker-service/jobs/rules.js';

const request = (over: Partial<GenerateCodeRequest> = {}): GenerateCodeRequest => ({
  owner: 'Alice',
  repo: 'App',
  branch: 'kiro/One',
  prNumber: 7,
  baseBranch: 'main',
  title: 'One',
  taskDescription: '# One\n',
  idempotencyKey: 'PR1700000000000',
  ...over,
});

describe('the rules every queue keeps', () => {
  it('a known idempotency key asks for the same job when the pull request and title match, whatever else differs', () => {
    assert.equal(sameRequest(request(), request({ taskDescription: '# Other\n', requestedBy: 'bob' })), true);
    assert.equal(sameRequest(request(), request({ prNumber: 8 })), false);
    assert.equal(sameRequest(request(), request({ title: 'Two' })), false);
  });

  it('a reused key for another request is a 409 naming the key, on the idempotencyKey field', () => {
    const e = idempotencyConflict(request());
    assert.ok(WorkerError.is(e));
    assert.deepEqual([e.code, e.status, e.field], ['IDEMPOTENCY_CONFLICT', 409, 'idempotencyKey']);
    assert.match(e.message, /PR1700000000000.*kiro\/One/);
  });

  it('jobs share a branch key per repository and branch, case aside; finishing sets state, error and the end time', () => {
    const job = newJob('id', 'scope', request(), '2024-05-01T10:00:00.000Z');
    assert.equal(branchKeyOf(job), 'alice/app#kiro/one');
    finishJob(job, 'failed', { code: 'INTERNAL', message: 'x' });
    assert.deepEqual([job.state, job.error?.code], ['failed', 'INTERNAL']);
    assert.ok(job.finishedAt && !Number.isNaN(Date.parse(job.finishedAt)));
  });
});
