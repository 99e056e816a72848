// A job run again after its host died mid-push must not push twice: its first run's
// commit carries `Kiro-Job: <id>`, and the re-run that finds it on the branch takes it
// as the job's result without starting the agent (on one host after a crash, or on
// another host of a fleet).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient } from '../../support/worker.js';
import { scopeKeyOf, type Job } from '../../../worker-service/jobs/job.js';

describe('a job run again after an interrupted push', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let botToken: string;
  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => gh.close());

  async function interrupted(branch: string, pushed: boolean): Promise<{ state: string; job: Job }> {
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, 'Half done');
    const repo = gh.model.repo('alice', 'app');
    if (!repo) throw new Error('no repo');
    const id = `rerun-${branch}`;
    if (pushed) {
      // What the first run had pushed before its host went away.
      const head = await repo.bare.resolve(`refs/heads/${branch}`);
      const sha = await repo.bare.commit({
        parent: head,
        additions: [{ path: 'kiro/FIRST.md', contents: 'first run\n' }],
        message: `feat: Half done\n\nKiro-Job: ${id}`,
        author: { name: 'Kiro Agent', email: 'k@e' },
      });
      await repo.bare.updateRef(`refs/heads/${branch}`, sha, head ?? '');
    }
    const state = await tempDir();
    const request = jobRequest('alice', 'app', branch, pr.number, 'Half done');
    const job: Job = {
      id,
      scopeKey: scopeKeyOf(request),
      request,
      state: 'pushing',
      attempts: 1,
      slotId: 0,
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      exitCode: 0,
      signal: null,
      commitSha: null,
      error: null,
      outputTail: [],
    };
    await mkdir(join(state, 'jobs'), { recursive: true });
    await writeFile(join(state, 'jobs', `${id}.json`), JSON.stringify(job));
    return { state, job };
  }

  it('finds its own commit on the branch and ends succeeded with it: no agent run, no second commit', async function () {
    const { state, job } = await interrupted('rerun-pushed', true);
    const w = await startWorker(workerEnv(gh, botToken, state));
    try {
      const done = await new WorkerClient(w.url).waitFor(job.id, ['succeeded', 'failed', 'no-changes'], 30_000);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      const log = (await gh.model.repo('alice', 'app')?.bare.log('refs/heads/main..refs/heads/rerun-pushed')) ?? [];
      assert.deepEqual(
        log.map((c) => c.subject),
        ['feat: Half done', 'task: Half done'],
        'exactly one agent commit',
      );
      assert.equal(done.commitSha, log[0]?.oid, "the first run's commit is the job's");
      assert.equal(done.attempts, 2);
      assert.ok(!done.outputTail.some((l) => l.includes('fake-kiro')), 'the agent did not run again');
      assert.ok(
        done.outputTail.some((l) => l.includes('already pushed')),
        done.outputTail.join('\n'),
      );
    } finally {
      await w.close();
    }
  });

  it('without such a commit it runs the agent again and pushes once, with the trailer', async function () {
    const { state, job } = await interrupted('rerun-fresh', false);
    const w = await startWorker(workerEnv(gh, botToken, state));
    try {
      const done = await new WorkerClient(w.url).waitFor(job.id, ['succeeded', 'failed', 'no-changes'], 30_000);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
      const repo = gh.model.repo('alice', 'app');
      const log = (await repo?.bare.log('refs/heads/main..refs/heads/rerun-fresh')) ?? [];
      assert.deepEqual(
        log.map((c) => c.subject),
        ['feat: Half done', 'task: Half done'],
      );
      assert.match((await repo?.bare.git(['log', '-1', '--format=%B', log[0]?.oid ?? ''])) ?? '', new RegExp(`^Kiro-Job: ${job.id}$`, 'm'));
    } finally {
      await w.close();
    }
  });
});
