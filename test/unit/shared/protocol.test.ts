import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import {
  GenerateCodeRequestSchema,
  JobStatusSchema,
  PoolHealthSchema,
  isFinalState,
  type GenerateCodeRequest,
} from '../../../shared/protocol.js';

const good: GenerateCodeRequest = {
  owner: 'alice',
  repo: 'app',
  branch: 'add-login-1764000000000',
  prNumber: 7,
  baseBranch: 'main',
  title: 'Add login',
  taskDescription: '# Add login\n',
  idempotencyKey: 'PR1764000000000',
};

describe('worker protocol schemas', function () {
  it('accepts a well-formed request', function () {
    assert.ok(Value.Check(GenerateCodeRequestSchema, good));
  });

  it('refuses wrong types, extra fields, hostile names and oversized text', function () {
    const bad: Record<string, unknown>[] = [
      { ...good, prNumber: '7' },
      { ...good, prNumber: 0 },
      { ...good, owner: '../etc' },
      { ...good, repo: 'a/b' },
      { ...good, branch: '--upload-pack=x' },
      { ...good, branch: 'a b' },
      { ...good, idempotencyKey: 'a b' },
      { ...good, title: '' },
      { ...good, taskDescription: 'x'.repeat(64 * 1024 + 1) },
      { ...good, extra: 1 },
      { ...good, owner: undefined },
    ];
    for (const b of bad) assert.equal(Value.Check(GenerateCodeRequestSchema, b), false, JSON.stringify(b).slice(0, 120));
  });

  it('takes the optional requestedBy (a GitHub login) and draft; a request without them stays valid', function () {
    assert.ok(Value.Check(GenerateCodeRequestSchema, { ...good, requestedBy: 'alice', draft: true }));
    assert.ok(Value.Check(GenerateCodeRequestSchema, { ...good, requestedBy: 'a-b-9', draft: false }));
    assert.ok(Value.Check(GenerateCodeRequestSchema, { ...good, requestedBy: 'x'.repeat(39) }));
    const bad: unknown[] = [
      '',
      '-alice',
      'alice-',
      'al--ice',
      'al ice',
      'alice[bot]',
      '@alice',
      'a/b',
      'x'.repeat(40),
      'alice\n',
      42,
      null,
    ];
    for (const requestedBy of bad)
      assert.equal(Value.Check(GenerateCodeRequestSchema, { ...good, requestedBy }), false, JSON.stringify(requestedBy));
    for (const draft of ['true', 1, null])
      assert.equal(Value.Check(GenerateCodeRequestSchema, { ...good, draft }), false, JSON.stringify(draft));
  });

  it('describes job status and pool health', function () {
    const now = new Date().toISOString();
    assert.ok(
      Value.Check(JobStatusSchema, {
        jobId: 'j1',
        state: 'queued',
        owner: 'a',
        repo: 'b',
        branch: 'c',
        prNumber: 1,
        title: 't',
        attempts: 0,
        position: 2,
        slotId: null,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        exitCode: null,
        signal: null,
        commitSha: null,
        error: null,
        outputTail: [],
      }),
    );
    assert.ok(
      Value.Check(PoolHealthSchema, {
        slots: [{ id: 0, state: 'idle', jobId: null, since: now }],
        queued: 0,
        running: 0,
        capacity: 1,
        queueLimit: 10,
        accepting: true,
        agent: { command: 'kiro-cli', found: false, message: 'not found' },
        version: '0.1.0',
        protocol: 1,
        uptimeSeconds: 1,
      }),
    );
    assert.equal(Value.Check(JobStatusSchema, { jobId: 'j1', state: 'exploded' }), false);
    const pushed = {
      jobId: 'j1',
      state: 'succeeded',
      owner: 'a',
      repo: 'b',
      branch: 'c',
      prNumber: 1,
      title: 't',
      attempts: 1,
      position: 0,
      slotId: 0,
      createdAt: now,
      startedAt: now,
      finishedAt: now,
      exitCode: 0,
      signal: null,
      commitSha: 'abc',
      error: null,
      outputTail: [],
    };
    assert.ok(
      Value.Check(JobStatusSchema, {
        ...pushed,
        changes: {
          files: [
            { path: 'a.ts', added: 1, removed: 0 },
            { path: 'b.png', added: 0, removed: 0, binary: true },
          ],
          filesChanged: 2,
          added: 1,
          removed: 0,
        },
      }),
    );
    assert.equal(
      Value.Check(JobStatusSchema, {
        ...pushed,
        changes: { files: [{ path: 'a.ts', added: -1, removed: 0 }], filesChanged: 1, added: 0, removed: 0 },
      }),
      false,
    );
    assert.ok(isFinalState('no-changes'));
    assert.equal(isFinalState('running'), false);
  });
});
