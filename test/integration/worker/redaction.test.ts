// A hostile agent on the real worker, in the real sandbox: it prints its environment
// (its key, KIRO_API_KEY, and another variable named like a token), a GitHub token cut
// across two chunks of its terminal with a colour change inside, a private key, and a
// login copied from the template HOME, and it imitates the worker's notes (a plain
// "[kiro-worker] …" line, an APC kiro-note string in its 7-bit and 8-bit forms).
// None of the secrets may be in the log file, GET /jobs/:id/log, the status's
// outputTail and summary, or the PR comment; the only notes in the log are the worker's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { pollUntil } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient } from '../../support/worker.js';

// What the fake agent's leak-secrets scenario prints besides its environment (test/support/agent/fakeKiro.ts).
const GITHUB_TOKEN = 'ghp_Fake0Token1For2The3Redaction4Test5';
const PRIVATE_KEY_LINES = ['MIIEowIBAAKCAQEAfakeKeyForTheRedactionTest0123456789abcdef', 'ZmFrZS1rZXktYm9keS1saW5lLXR3bw=='];
const AGENT_KEY = 'kiro-api-key-for-the-redaction-test-0001';
const OTHER_TOKEN = 'my-service-token-for-the-redaction-test-02';
const HOME_LOGIN = 'refresh-from-the-template-home-0003';
const SECRETS = [GITHUB_TOKEN, ...PRIVATE_KEY_LINES, AGENT_KEY, OTHER_TOKEN, HOME_LOGIN];

const NOTES = /\x1b_kiro-note (\{[^\x1b]*\})\x1b\\/g;

describe('redaction: a hostile agent on the real worker and sandbox', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let botToken: string;
  const dirs: string[] = [];

  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
  });
  after(async () => {
    await gh.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('none of its secrets is in the log, its replay, the tail, the summary or the PR comment; its notes are not notes', async function () {
    // Not under /tmp, as in production: the sandbox's private /tmp would cover it.
    const stateDir = await mkdtemp('/var/tmp/kiro-redaction-');
    const template = await mkdtemp('/var/tmp/kiro-redaction-home-');
    dirs.push(stateDir, template);
    await mkdir(join(template, '.config', 'agent'), { recursive: true });
    await writeFile(
      join(template, '.config', 'agent', 'credentials.json'),
      `${JSON.stringify({ refresh_token: HOME_LOGIN, token_type: 'Bearer' }, null, 2)}\n`,
    );
    const w = await startWorker(
      workerEnv(gh, botToken, stateDir, {
        KIRO_AGENT: 'kiro', // the preset's key variable: KIRO_API_KEY
        KIRO_AGENT_HOME_TEMPLATE: template,
        KIRO_AGENT_ENV_ALLOW: 'FAKE_KIRO_SCENARIO,FAKE_KIRO_STEP_MS,MY_SERVICE_TOKEN',
        KIRO_AGENT_READ_PATHS: repoRoot,
      }),
      { agentEnv: { KIRO_API_KEY: AGENT_KEY, MY_SERVICE_TOKEN: OTHER_TOKEN, FAKE_KIRO_STEP_MS: '20' } },
    );
    try {
      const health = (await (await new WorkerClient(w.url).request('GET', '/health')).json()) as { sandbox?: { enabled: boolean } };
      assert.equal(health.sandbox?.enabled, true, 'the agent runs in the real sandbox');
      const c = new WorkerClient(w.url);
      const branch = `leak-${Date.now()}`;
      const pr = await makeTaskPr(gh, 'alice', 'app', branch, 'Leak', '\n[scenario: leak-secrets]');
      const accepted = await c.submit(jobRequest('alice', 'app', branch, pr.number, 'Leak'));
      const job = await c.waitFor(accepted.jobId, ['succeeded', 'failed', 'no-changes', 'timed-out'], 45_000);
      assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
      const comment = await pollUntil(() => gh.model.repo('alice', 'app')?.comments.find((x) => x.issueNumber === pr.number), {
        what: 'the PR comment',
      });

      const file = readFileSync(join(stateDir, 'logs', `${accepted.jobId}.log`), 'utf8');
      const served = await (await c.request('GET', `/jobs/${accepted.jobId}/log`)).text();
      assert.equal(served, file, "GET /jobs/:id/log serves the file's bytes");
      // The agent did print them (its environment, its HOME's file): only [redacted] stands where they were.
      assert.match(file, /KIRO_API_KEY=\[redacted\]/);
      assert.match(file, /MY_SERVICE_TOKEN=\[redacted\]/);
      assert.match(file, /token: \x1b\[33m\[redacted\]\x1b\[1m\x1b\[0m/);
      assert.match(file, /"refresh_token": "\[redacted\]"/);
      assert.match(file, /\[redacted\]\r\n\$ cat ~\/.config\/agent\/credentials.json/, 'the private key');
      const places: Record<string, string> = {
        'the log file': file,
        'GET /jobs/:id/log': served,
        outputTail: job.outputTail.join('\n'),
        summary: job.summary ?? '',
        'the PR comment': comment.body,
      };
      for (const [where, text] of Object.entries(places)) {
        for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} is in ${where}`);
      }
      assert.match(job.summary ?? '', /Done\. I used the key \[redacted\]\./);
      assert.match(comment.body, /Done\. I used the key \[redacted\]\./);

      // The only notes are the worker's; the agent's imitations are plain text, marked as its own in the tail.
      const notes = [...file.matchAll(NOTES)].map((m) => (JSON.parse(m[1] ?? '{}') as { text: string }).text);
      assert.deepEqual(notes, [`pushed ${job.commitSha?.slice(0, 12)} to ${branch}`, 'job succeeded']);
      assert.equal(file.split('\x1b_').length - 1, 2, 'no other APC string');
      assert.ok(!file.includes('\u009f'), 'no 8-bit APC');
      assert.ok(file.includes('\n[kiro-worker] job succeeded (fake, from the agent)\r\n'), 'the imitation is plain text');
      assert.ok(job.outputTail.includes('[agent] [kiro-worker] job succeeded (fake, from the agent)'), job.outputTail.join('\n'));
      assert.ok(job.outputTail.at(-1) === '[kiro-worker] job succeeded', job.outputTail.join('\n'));
      assert.ok(comment.body.includes('[agent] [kiro-worker] job succeeded (fake, from the agent)'));
    } finally {
      await w.close();
    }
  });
});
