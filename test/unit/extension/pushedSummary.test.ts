// The agent's summary on its way from the worker to the "pushed" notification: in the
// job's status (GET /jobs/:id, the event stream), checked against the wire schema, in
// the watcher's `pushed` event, and in the notification's text. Plain modules only.
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { JobStatusSchema, PoolHealthSchema } from '../../../shared/protocol.js';
import { pushedMessage, summaryLine } from '../../../extension/delegations/describe.js';
import { DelegationStore, MemoryMemento, type Delegation } from '../../../extension/delegations/model.js';
import { PrWatcher, type WatchEvent } from '../../../extension/github/watcher.js';
import { toStatus, type Job } from '../../../worker-service/jobs/job.js';

const SUMMARY = 'Added the login form.\n\nIt validates the e-mail and the password.';

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    scopeKey: 'x',
    state: 'succeeded',
    attempts: 1,
    slotId: 0,
    request: {
      owner: 'alice',
      repo: 'app',
      branch: 'kiro/add-login-1',
      prNumber: 7,
      baseBranch: 'main',
      title: 'Add login',
      taskDescription: '# Add login\n',
      idempotencyKey: 'PR1',
    },
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: '2025-01-01T10:00:00.000Z',
    finishedAt: '2025-01-01T10:03:05.000Z',
    exitCode: 0,
    signal: null,
    commitSha: '0123456789abcdef0123456789abcdef01234567',
    error: null,
    outputTail: ['Done.'],
    ...over,
  };
}

describe("the agent's summary, worker to notification", function () {
  it("is in the job's status when the agent said one, and the status fits the wire schema either way", function () {
    const withSummary = toStatus(job({ summary: SUMMARY }), 0);
    assert.equal(withSummary.summary, SUMMARY);
    assert.ok(Value.Check(JobStatusSchema, withSummary));
    const without = toStatus(job({ summary: null }), 0);
    assert.equal('summary' in without, false);
    assert.ok(Value.Check(JobStatusSchema, without));
    assert.equal(Value.Check(JobStatusSchema, { ...withSummary, summary: 42 }), false);
  });

  it("/health's agent may carry its preset and version (older workers leave them out)", function () {
    const health = {
      slots: [],
      queued: 0,
      running: 0,
      capacity: 1,
      queueLimit: 1,
      accepting: true,
      version: '1',
      protocol: 1,
      uptimeSeconds: 1,
      agent: { command: 'claude', found: true, message: 'ok', preset: 'claude', version: '2.1.331 (Claude Code)' },
    };
    assert.ok(Value.Check(PoolHealthSchema, health));
    assert.ok(
      Value.Check(PoolHealthSchema, {
        ...health,
        agent: { command: 'claude', found: false, message: 'missing', preset: 'claude', version: null },
      }),
    );
    assert.ok(Value.Check(PoolHealthSchema, { ...health, agent: { command: 'kiro-cli', found: true, message: 'ok' } }));
  });

  it("reaches the watcher's pushed event, and the notification says it on one line", async function () {
    const store = new DelegationStore(new MemoryMemento());
    const d: Delegation = {
      id: 'PR1',
      owner: 'alice',
      repo: 'app',
      branch: 'kiro/add-login-1',
      baseBranch: 'main',
      prNumber: 7,
      prUrl: 'https://github.com/alice/app/pull/7',
      title: 'Add login',
      taskCommitOid: 'a'.repeat(40),
      state: 'running',
      job: job().request,
      jobId: 'job-1',
      createdAt: 1,
      updatedAt: 1,
    };
    await store.upsert(d);
    const events: WatchEvent[] = [];
    const watcher = new PrWatcher({
      store,
      github: async () => undefined,
      worker: () => undefined,
      notify: (e) => events.push(e),
      isFocused: () => true,
      intervalMs: 1000,
    });
    await watcher.applyJob(toStatus(job({ summary: SUMMARY }), 0));
    const pushed = events.find((e): e is Extract<WatchEvent, { type: 'pushed' }> => e.type === 'pushed');
    assert.equal(pushed?.summary, SUMMARY);
    assert.equal(
      pushedMessage(pushed.delegation, pushed.summary),
      'Kiro pushed code to PR #7: Add login — Added the login form. It validates the e-mail and the password.',
    );
    watcher.dispose();
  });

  it('a notification without a summary is as before; a long or hostile one is one short line', function () {
    assert.equal(pushedMessage({ prNumber: 3, title: 'Fix it' }), 'Kiro pushed code to PR #3: Fix it');
    assert.equal(pushedMessage({ prNumber: 3, title: 'Fix it' }, '  \n '), 'Kiro pushed code to PR #3: Fix it');
    const line = summaryLine(`a\u001b[2J\tb\r\n${'c'.repeat(400)}`);
    assert.equal(line.length, 300);
    assert.ok(line.startsWith('a [2J b c'));
    assert.ok(line.endsWith('…'));
  });
});
