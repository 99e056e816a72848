// Redis is input, not truth: the checks a fleet puts on what it reads back from Redis
// (job ids, records, BullMQ job data, pub/sub messages), and the state folder's path
// rule that holds even for a name that got past them. On a real Redis with real hosts:
// test/integration/worker/redisHostile.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerateCodeRequest } from '../../../shared/protocol.js';
import { loadConfig } from '../../../worker-service/config.js';
import { jobIdFor } from '../../../worker-service/queue/fleet/keys.js';
import { newJob } from '../../../worker-service/queue/fleet/records.js';
import {
  checkCancelMessage,
  checkEventMessage,
  checkQueued,
  checkRecord,
  isFleetJobId,
  queuedMatchesRecord,
} from '../../../worker-service/queue/fleet/validate.js';
import { Workspaces } from '../../../worker-service/git/workspace.js';
import { scopeKeyOf, toStatus, type Job } from '../../../worker-service/jobs/job.js';
import { statePath, underStateDir, UnsafePathError } from '../../../worker-service/jobs/paths.js';
import { SandboxRuntime } from '../../../worker-service/sandbox/sandbox.js';
import { tempDir } from '../../support/helpers.js';

const request = (over: Partial<GenerateCodeRequest> = {}): GenerateCodeRequest => ({
  owner: 'alice',
  repo: 'app',
  branch: 'kiro/one',
  prNumber: 7,
  baseBranch: 'main',
  title: 'One',
  taskDescription: '# One\n',
  idempotencyKey: 'PR1700000000000',
  ...over,
});
/** A job as submit makes it: its id derived from its request's scope. */
const jobOf = (r: GenerateCodeRequest): Job => newJob(jobIdFor(scopeKeyOf(r)), scopeKeyOf(r), r, '2024-05-01T10:00:00.000Z');
const problemOf = (c: { ok: boolean; problem?: string }) => (c.ok ? 'ok' : c.problem);

describe('what a fleet reads from Redis is checked before use', () => {
  it('job ids: only the UUID shape jobIdFor derives (and the HTTP pattern), never a path', () => {
    assert.ok(isFleetJobId(jobIdFor('alice/app#b#k')));
    for (const bad of [
      '../../x',
      'a/../../b',
      '..',
      '',
      '0b2f0c8e-0000-4000-8000-00000000000',
      '0B2F0C8E-0000-4000-8000-000000000000',
      'job-1',
      `${jobIdFor('x')}/..`,
      `${jobIdFor('x')}\n`,
      42,
      null,
      undefined,
    ]) {
      assert.equal(isFleetJobId(bad), false, JSON.stringify(bad));
    }
  });

  it('a record passes when it is the job its id was made for, with names by the HTTP rules', () => {
    const job = jobOf(request());
    assert.equal(problemOf(checkRecord(JSON.stringify(job), job.id)), 'ok');
    const ended = {
      ...job,
      state: 'succeeded',
      attempts: 1,
      slotId: 0,
      startedAt: job.createdAt,
      finishedAt: job.createdAt,
      exitCode: 0,
      commitSha: 'a'.repeat(40),
      host: 'h',
      usage: { inputTokens: 1, outputTokens: 2 },
      changes: null,
      summary: 'Done.',
      agentPid: null,
      newerField: 1,
    };
    assert.equal(problemOf(checkRecord(JSON.stringify(ended), job.id)), 'ok', 'a finished record, and a field a newer host added');
  });

  it('a record is refused: not JSON, wrong types, another id, names GitHub or git refuse, a request retargeted', () => {
    const job = jobOf(request());
    const retarget = (r: GenerateCodeRequest, rescope: boolean) =>
      JSON.stringify({ ...job, request: r, scopeKey: rescope ? scopeKeyOf(r) : job.scopeKey });
    const cases: [string, string, RegExp][] = [
      ['garbage', 'not json{', /not JSON/],
      ['an array', '[]', /record/],
      ['no request', JSON.stringify({ ...job, request: undefined }), /request/],
      ['attempts as text', JSON.stringify({ ...job, attempts: '9999' }), /attempts/],
      ['an unknown state', JSON.stringify({ ...job, state: 'pwned' }), /state/],
      ['a path as its id', JSON.stringify({ ...job, id: '../../x' }), /id/],
      ["another job's id", JSON.stringify({ ...job, id: jobIdFor('other') }), /another job id/],
      ['an owner with ..', JSON.stringify({ ...job, request: { ...job.request, owner: '../etc' } }), /owner/],
      // These pass the schema's outline; the names' full rules refuse them.
      ['repo ..', retarget(request({ repo: '..' }), true), /repo is not a valid/],
      ['a branch with ..', retarget(request({ branch: 'kiro/../x' }), true), /branch is not a valid/],
      ['a base branch with ..', retarget(request({ baseBranch: 'main/../x' }), true), /baseBranch/],
      ['branch = base', retarget(request({ branch: 'main' }), true), /branch equals baseBranch/],
      ['an extra request field', JSON.stringify({ ...job, request: { ...job.request, path: '/etc' } }), /request/],
      [
        'retargeted to another repository',
        retarget(request({ owner: 'mallory', repo: 'other' }), true),
        /not the one its job id was made for/,
      ],
      ['retargeted, scope left as it was', retarget(request({ repo: 'other' }), false), /not the one its job id was made for/],
      ['retargeted to another branch', retarget(request({ branch: 'kiro/two' }), true), /not the one its job id was made for/],
    ];
    for (const [what, raw, expected] of cases) {
      const c = checkRecord(raw, job.id);
      assert.equal(c.ok, false, what);
      assert.match(problemOf(c) ?? '', expected, what);
    }
  });

  it('BullMQ job data: the request the id was made for, by the HTTP rules and the allow-list; a record that asks for anything else does not match', () => {
    const r = request();
    const id = jobIdFor(scopeKeyOf(r));
    const data = { request: r, createdAt: '2024-05-01T10:00:00.000Z' };
    assert.equal(problemOf(checkQueued(id, data)), 'ok');
    assert.match(problemOf(checkQueued('../../x', data)) ?? '', /id is not a job id/);
    assert.match(problemOf(checkQueued(jobIdFor('other'), data)) ?? '', /not the one its id was made for/);
    assert.match(problemOf(checkQueued(id, { request: r })) ?? '', /createdAt/);
    assert.match(problemOf(checkQueued(id, 'x')) ?? '', /data/);
    const hostile = request({ owner: '../etc' });
    assert.match(problemOf(checkQueued(jobIdFor(scopeKeyOf(hostile)), { ...data, request: hostile })) ?? '', /owner/);
    const dotted = request({ repo: '..' });
    assert.match(problemOf(checkQueued(jobIdFor(scopeKeyOf(dotted)), { ...data, request: dotted })) ?? '', /repo is not a valid/);
    assert.match(problemOf(checkQueued(id, data, [{ owner: 'bob', repo: '*' }])) ?? '', /allow-list/);
    assert.equal(problemOf(checkQueued(id, data, [{ owner: 'alice', repo: 'app' }])), 'ok');
    // The record made at submit matches its data; one rewritten after queueing (even inside the same scope) does not.
    assert.equal(queuedMatchesRecord(jobOf(r), data), true);
    assert.equal(
      queuedMatchesRecord(jobOf({ ...r }), { ...data, request: { ...r, taskDescription: '# One\n' } }),
      true,
      'the same request, another object',
    );
    for (const over of [
      { taskDescription: 'push elsewhere' },
      { baseBranch: 'dev' },
      { prNumber: 8 },
      { title: 'Other' },
      { requestedBy: 'mallory' },
      { draft: true },
    ]) {
      assert.equal(queuedMatchesRecord({ ...jobOf(r), request: { ...r, ...over } }, data), false, JSON.stringify(over));
    }
  });

  it('pub/sub: events as the protocol describes them, cut to its fields; everything else dropped', () => {
    const job = jobOf(request({ requestedBy: 'alice' }));
    const status = toStatus({ ...job, host: 'host-a' }, 0);
    const ok = checkEventMessage(JSON.stringify({ type: 'job', job: status }));
    assert.deepEqual(ok, { ok: true, value: { type: 'job', job: status } }, 'what a host publishes passes as it is');
    const extra = checkEventMessage(JSON.stringify({ type: 'job', job: { ...status, script: '<script>' } }));
    assert.ok(
      extra.ok && extra.value.type === 'job' && !('script' in extra.value.job),
      'a field the protocol does not know is not relayed',
    );
    assert.deepEqual(checkEventMessage('{"type":"slots"}'), { ok: true, value: { type: 'slots' } });
    const dropped: [string, string][] = [
      ['not JSON', 'not json{'],
      ['null', 'null'],
      ['another type', '{"type":"exec","cmd":"rm -rf /"}'],
      ['a job event without a job', '{"type":"job"}'],
      [
        'the two fields the old check looked at, and nothing else',
        JSON.stringify({ type: 'job', job: { jobId: job.id, state: 'running' } }),
      ],
      ['a numeric jobId', JSON.stringify({ type: 'job', job: { ...status, jobId: 5 } })],
      ['an unknown state', JSON.stringify({ type: 'job', job: { ...status, state: 'pwned' } })],
      ['a path as jobId', JSON.stringify({ type: 'job', job: { ...status, jobId: '../../x' } })],
      ['an owner with ..', JSON.stringify({ type: 'job', job: { ...status, owner: '../etc' } })],
      ['repo ..', JSON.stringify({ type: 'job', job: { ...status, repo: '..' } })],
      ['a branch git refuses', JSON.stringify({ type: 'job', job: { ...status, branch: 'a..b' } })],
      ['a requester that is no login', JSON.stringify({ type: 'job', job: { ...status, requestedBy: '../x' } })],
      ['a bad date', JSON.stringify({ type: 'job', job: { ...status, createdAt: 'yesterday' } })],
    ];
    for (const [what, message] of dropped) assert.equal(checkEventMessage(message).ok, false, what);
    assert.deepEqual(checkCancelMessage(job.id), { ok: true, value: job.id });
    for (const bad of ['../../x', '', 'garbage', `${job.id} `, JSON.stringify({ jobId: job.id })])
      assert.equal(checkCancelMessage(bad).ok, false, bad);
  });
});

describe('paths in the state folder', () => {
  it('are made of plain names and stay strictly inside it', () => {
    const state = '/var/lib/kiro';
    assert.equal(statePath(state, 'sandbox', jobIdFor('x'), 'home'), `/var/lib/kiro/sandbox/${jobIdFor('x')}/home`);
    assert.equal(
      statePath(`${state}/`, 'repos', 'alice', '...git'),
      '/var/lib/kiro/repos/alice/...git',
      'a dotted name that is not .. is a name',
    );
    for (const parts of [
      ['sandbox', '../../x', 'home'],
      ['sandbox', '..'],
      ['repos', 'a/b'],
      ['repos', '.'],
      ['repos', ''],
      ['repos', 'a\\..'],
      ['x\0'],
      [],
    ]) {
      assert.throws(() => statePath(state, ...parts), UnsafePathError.is, JSON.stringify(parts));
    }
    assert.equal(underStateDir(state, '/var/lib/kiro/logs/a.log'), '/var/lib/kiro/logs/a.log');
    for (const p of [
      '/var/lib/kiro',
      '/var/lib/kiro/',
      '/var/lib/kiro/logs/../..',
      '/var/lib/kiro-other/a',
      '/etc/passwd',
      'logs/../../x',
    ]) {
      assert.throws(() => underStateDir(state, p), UnsafePathError.is, p);
    }
  });

  it('mirrors and worktrees of a name that got past validation are refused, not made outside', async () => {
    const root = await tempDir();
    const ws = new Workspaces(join(root, 'state'), 'http://127.0.0.1:1');
    assert.throws(() => ws.mirrorDir('../../escape', 'app'), UnsafePathError.is);
    assert.throws(() => ws.mirrorDir('alice', '../../../escape'), UnsafePathError.is);
    assert.throws(() => ws.slotDir(0, 'a/../../..', 'app'), UnsafePathError.is);
    await assert.rejects(ws.fetchBranch('../../escape', 'app', 'main'), UnsafePathError.is);
    assert.deepEqual(await readdir(root), [], 'nothing made, inside the state folder or out of it');
  });

  it('a sandbox for a job id that is a path is refused before anything is deleted', async () => {
    const root = await tempDir();
    const state = join(root, 'state');
    await mkdir(state);
    // Where stateDir/sandbox/../../x would point: the recursive delete's target without the check.
    await mkdir(join(root, 'x', 'home'), { recursive: true });
    await writeFile(join(root, 'x', 'canary'), 'keep me');
    const sandbox = new SandboxRuntime({
      config: loadConfig({ KIRO_WORKER_STATE_DIR: state, KIRO_AGENT_NETWORK: 'none' }),
      cgroups: { kind: 'none', create: async () => null },
    });
    await assert.rejects(
      sandbox.prepare({ id: '../../x', tree: join(state, 'work'), gitDirs: [], agentPath: '/bin/true', agentArgv: ['/bin/true'], env: {} }),
      UnsafePathError.is,
    );
    assert.ok(existsSync(join(root, 'x', 'canary')), 'the canary outside the state folder survives');
    assert.deepEqual((await readdir(root)).sort(), ['state', 'x']);
    assert.deepEqual(await readdir(state), [], 'and nothing was made inside');
  });
});
