// A preset through the real worker and sandbox, with the scripted agent standing in
// for Kiro CLI (KIRO_AGENT=kiro, its argv replaced by KIRO_AGENT_COMMAND, everything
// else the preset's): the key it needs refused at start when missing, the variables
// the agent gets, /health's report, a plain-text agent's last lines as the job's
// summary, and Kiro's exit code 3 as a job error of its own.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolHealth } from '../../../shared/protocol.js';
import { ConfigError } from '../../../worker-service/config.js';
import type { GitHubStandIn } from '../../support/github/server.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { tempDir } from '../../support/helpers.js';
import { jobRequest, makeTaskPr, startWorker, WorkerClient, workerEnv, type TestWorker } from '../../support/worker.js';

describe('a preset through the real worker (KIRO_AGENT=kiro, the scripted agent as its command)', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let botToken: string;
  let w: TestWorker;
  let c: WorkerClient;
  let n = 0;
  const env = async () => workerEnv(gh, botToken, await tempDir(), { KIRO_AGENT: 'kiro', KIRO_WORKER_SLOTS: '1' });
  const KEY = 'ksk_scripted_kiro_key_0123456789';

  before(async function () {
    ({ gh, botToken } = await standInWithAliceApp());
    w = await startWorker(await env(), { agentEnv: { KIRO_API_KEY: KEY, FAKE_KIRO_RECORD: '-' } });
    c = new WorkerClient(w.url);
  });
  after(async () => {
    await w?.close();
    await gh?.close();
  });

  /** One job whose TASK.md asks the scripted agent for `scenario`. */
  async function run(scenario: string) {
    const branch = `kiro/preset-${++n}`;
    const title = `Preset ${scenario}`;
    // The branch's TASK.md (the extension's commit) is what the agent reads.
    const pr = await makeTaskPr(gh, 'alice', 'app', branch, title, ` [scenario: ${scenario}]`);
    const { jobId } = await c.submit(jobRequest('alice', 'app', branch, pr.number, title));
    const job = await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes', 'timed-out', 'cancelled'], 30_000);
    return { job, log: readFileSync(join(w.config.stateDir, 'logs', `${jobId}.log`), 'utf8') };
  }

  it("refuses to start without the preset's key, naming the variable", async function () {
    await assert.rejects(
      startWorker(await env(), { agentEnv: { KIRO_API_KEY: '' } }),
      (e: unknown) => ConfigError.is(e) && e.variable === 'KIRO_API_KEY',
    );
  });

  it('/health names the preset and finds its command', async function () {
    const h = (await (await c.request('GET', '/health')).json()) as PoolHealth;
    assert.equal(h.agent.preset, 'kiro');
    assert.equal(h.agent.found, true, h.agent.message);
  });

  it("the agent gets the preset's key and telemetry switches, in its sandbox, and nothing of other presets", async function () {
    const { job, log } = await run('change');
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
    const seen = JSON.parse(Buffer.from(/^FAKE_KIRO_RECORD (\S+)\r?$/m.exec(log)?.[1] ?? '', 'base64').toString('utf8')) as {
      env: Record<string, string>;
    };
    assert.equal(seen.env.KIRO_API_KEY, KEY);
    assert.equal(seen.env.KIRO_DISABLE_TELEMETRY, '1');
    assert.equal(seen.env.Q_DISABLE_TELEMETRY, '1');
    assert.equal(seen.env.HOME, '/home/agent', 'in its sandbox');
    assert.equal('DISABLE_TELEMETRY' in seen.env, false, "Claude Code's switches are Claude Code's");
  });

  it("a plain-text agent's last lines are the job's summary", async function () {
    const { job } = await run('change');
    assert.equal(job.state, 'succeeded');
    const summary = job.summary ?? '';
    assert.match(summary, /> Wrote kiro\/IMPLEMENTATION\.md\nDone\.$/);
    assert.doesNotMatch(summary, /\[kiro-worker\]/, "the worker's own notes are not the agent's words");
  });

  it("Kiro's exit code 3 fails the job with its own error, not a bare exit code", async function () {
    const { job } = await run('fail');
    assert.equal(job.state, 'failed');
    assert.equal(job.exitCode, 3);
    assert.deepEqual(job.error, { code: 'AGENT_MCP_FAILED', message: 'an MCP server Kiro CLI requires did not start (exit code 3)' });
  });
});
