// Steering with a personal token instead of an App (GitHub's Checks API takes only Apps: a
// commit status "Kiro" stands in for the check run), and in KIRO_AUTH=github mode, where a
// round someone else started on GitHub is listed to the PR's author as well as the requester.
import assert from 'node:assert/strict';
import type { AuthSession, JobList } from '../../../shared/protocol.js';
import { standInWithAliceApp, type AliceApp } from '../../support/standIn.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { makeTaskPr, startWorker, workerEnv, WorkerClient, type TestWorker } from '../../support/worker.js';

const SECRET = 'steering-modes-webhook-secret-01';

describe('steering with a personal token, and in github mode', function () {
  this.timeout(60_000);
  let s: AliceApp;
  const workers: TestWorker[] = [];
  const start = async (extra: Record<string, string>) => {
    const w = await startWorker(
      workerEnv(s.gh, s.botToken, await tempDir(), { KIRO_GITHUB_WEBHOOK_SECRET: SECRET, KIRO_BRANCH_PREFIX: 'kiro/', ...extra }),
      { agentEnv: { FAKE_KIRO_STEP_MS: '0' } },
    );
    workers.push(w);
    s.gh.webhooks.set(`${w.url}/github/webhook`, SECRET);
    return w;
  };
  const jobOf = async (w: TestWorker) => {
    const o = (await w.app.steering?.handled()) ?? [];
    const last = o.at(-1);
    assert.equal(last?.kind, 'queued', JSON.stringify(o));
    return last?.kind === 'queued' ? last.jobId : '';
  };

  before(async function () {
    s = await standInWithAliceApp();
    s.gh.addUser('bob');
    s.gh.grant('alice', 'app', 'bob', 'WRITE');
  });
  after(async () => {
    for (const w of workers) await w.close();
    await s?.gh.close();
  });

  it('KIRO_GITHUB_TOKEN: a commit status "Kiro" pending, then success on the round\'s commit and on the pushed one; no check run', async function () {
    const w = await start({});
    const { number } = await makeTaskPr(s.gh, 'alice', 'app', 'kiro/status', 'status');
    await s.gh.webhooks.comment('alice', 'app', number, 'bob', '/kiro once more');
    const jobId = await jobOf(w);
    const done = await new WorkerClient(w.url).waitFor(jobId, ['succeeded']);
    const st = s.gh.webhooks.state('alice', 'app');
    await pollUntil(() => st.statuses.some((x) => x.sha === done.commitSha), { what: 'the status on the pushed commit' });
    const taskSha = st.statuses.find((x) => x.state === 'pending')?.sha;
    assert.ok(taskSha && taskSha !== done.commitSha, "pending on the round's TASK.md commit");
    assert.deepEqual(
      st.statuses.filter((x) => x.sha === taskSha).map((x) => [x.context, x.state]),
      [
        ['Kiro', 'pending'],
        ['Kiro', 'pending'],
        ['Kiro', 'success'],
      ],
    );
    assert.ok(
      st.statuses.every((x) => /^https:\/\/vscode\.dev\/redirect\?/.test(x.targetUrl ?? '')),
      'each links to the job in VS Code',
    );
    assert.equal(st.checkRuns.length, 0, 'the Checks API is for Apps');
    await w.close();
    workers.pop();
  });

  it("github mode: the round bob started on alice's PR is listed to both (GET /jobs?mine=1)", async function () {
    const w = await start({ KIRO_AUTH: 'github', KIRO_SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!' });
    const { number } = await makeTaskPr(s.gh, 'alice', 'app', 'kiro/listed', 'listed');
    await s.gh.webhooks.comment('alice', 'app', number, 'bob', '/kiro and a test');
    const jobId = await jobOf(w);
    const session = async (login: string) => {
      const token = s.gh.model.users.get(login)?.token ?? '';
      const res = await new WorkerClient(w.url, null).request('POST', '/auth/github', { token });
      return new WorkerClient(w.url, ((await res.json()) as AuthSession).token);
    };
    for (const login of ['alice', 'bob']) {
      const list = (await (await (await session(login)).request('GET', '/jobs?mine=1')).json()) as JobList;
      assert.deepEqual(
        list.jobs.map((j) => j.jobId),
        [jobId],
        `listed to ${login}`,
      );
      assert.equal(list.jobs[0]?.requestedBy, 'bob');
    }
    const rita = s.gh.addUser('rita');
    const ritaList = (await (await (await session(rita.login)).request('GET', '/jobs?mine=1')).json()) as JobList;
    assert.deepEqual(ritaList.jobs, [], 'nobody else');
  });
});
