// GET /metrics on the real worker: Prometheus text that parses (strictly), counters that
// move after a real job (the scripted agent replaying Claude Code's transcript, so usage
// is reported), webhook deliveries and open streams counted; 401 without a token; and
// KIRO_METRICS_TOKEN good for /metrics and refused on every other route.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { GitHubStandIn } from '../../support/github/server.js';
import { pollUntil, tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { parsePrometheus, valueOf, type Family } from '../../support/prometheus.js';
import { standInWithAliceApp } from '../../support/standIn.js';
import { jobRequest, makeTaskPr, startWorker, workerEnv, WorkerClient, WORKER_TOKEN, type TestWorker } from '../../support/worker.js';

const METRICS_TOKEN = 'test-metrics-token-9876543210';

describe('GET /metrics (Prometheus) on the real worker', function () {
  this.timeout(60_000);
  let gh: GitHubStandIn;
  let w: TestWorker;
  let jobId: string;
  const scraper = () => new WorkerClient(w.url, METRICS_TOKEN);
  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await scraper().request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  };

  before(async () => {
    let botToken: string;
    ({ gh, botToken } = await standInWithAliceApp());
    w = await startWorker(
      workerEnv(gh, botToken, await tempDir(), {
        KIRO_AGENT: 'claude',
        KIRO_AGENT_KEY_VAR: 'none',
        KIRO_METRICS_TOKEN: METRICS_TOKEN,
        KIRO_GITHUB_WEBHOOK_SECRET: 'metrics-test-webhook-secret',
        KIRO_AGENT_ENV_ALLOW: 'FAKE_KIRO_SCENARIO,FAKE_KIRO_STEP_MS,FAKE_KIRO_REPLAY',
      }),
      {
        agentEnv: {
          FAKE_KIRO_SCENARIO: 'replay',
          FAKE_KIRO_STEP_MS: '1',
          FAKE_KIRO_REPLAY: join(repoRoot, 'test', 'fixtures', 'agents', 'claude-ok.txt'),
        },
      },
    );
  });
  after(async () => {
    await w?.close();
    await gh?.close();
  });

  it("a real job moves the counters and histograms; labels are route patterns, never ids; Node's own metrics are there", async function () {
    const before = await scrape();
    assert.equal(valueOf(before, 'kiro_jobs_finished_total', 'kiro_jobs_finished_total', { state: 'succeeded' }), undefined);
    const pr = await makeTaskPr(gh, 'alice', 'app', 'metrics-1', 'metrics');
    const c = new WorkerClient(w.url);
    ({ jobId } = await c.submit(jobRequest('alice', 'app', 'metrics-1', pr.number, 'metrics')));
    const done = await c.waitFor(jobId, ['succeeded', 'failed', 'no-changes']);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    // The run's phases are told once its tree is settled, a moment after its final state.
    const after = await pollUntil(
      async () => {
        const m = await scrape();
        return valueOf(m, 'kiro_job_phase_duration_seconds', 'kiro_job_phase_duration_seconds_count', { phase: 'settle' }) === 1
          ? m
          : undefined;
      },
      { what: "the run's phases in /metrics" },
    );
    assert.equal(valueOf(after, 'kiro_jobs_finished_total', 'kiro_jobs_finished_total', { state: 'succeeded', code: 'none' }), 1);
    assert.equal(valueOf(after, 'kiro_agent_tokens_total', 'kiro_agent_tokens_total', { preset: 'claude', kind: 'input' }), 400);
    assert.equal(valueOf(after, 'kiro_agent_tokens_total', 'kiro_agent_tokens_total', { preset: 'claude', kind: 'output' }), 80);
    assert.equal(valueOf(after, 'kiro_agent_run_duration_seconds', 'kiro_agent_run_duration_seconds_count', { preset: 'claude' }), 1);
    for (const phase of ['fetch', 'checkout', 'spawn', 'publish', 'record']) {
      assert.equal(valueOf(after, 'kiro_job_phase_duration_seconds', 'kiro_job_phase_duration_seconds_count', { phase }), 1, phase);
    }
    assert.equal(
      valueOf(after, 'kiro_job_phase_duration_seconds', 'kiro_job_phase_duration_seconds_count', { phase: 'agent' }),
      undefined,
      'the agent has its own histogram',
    );
    assert.equal(valueOf(after, 'kiro_queue_depth', 'kiro_queue_depth'), 0);
    assert.equal(valueOf(after, 'kiro_slots_capacity', 'kiro_slots_capacity', { host: 'local' }), 2);
    assert.equal(valueOf(after, 'kiro_slots_busy', 'kiro_slots_busy', { host: 'local' }), 0);
    assert.equal(after.get('kiro_jobs_finished_total')?.type, 'counter');
    assert.equal(after.get('kiro_http_request_duration_seconds')?.type, 'histogram');
    const routes = new Set(after.get('kiro_http_request_duration_seconds')?.samples.map((s) => s.labels.route));
    assert.ok(routes.has('/jobs/:id') && routes.has('/generate-code'), [...routes].join(' '));
    assert.ok(
      (valueOf(after, 'kiro_http_request_duration_seconds', 'kiro_http_request_duration_seconds_count', {
        route: '/jobs/:id',
        method: 'GET',
        status_class: '2xx',
      }) ?? 0) >= 1,
    );
    const text = await (await scraper().request('GET', '/metrics')).text();
    assert.ok(!text.includes(jobId) && !text.includes('metrics-1'), 'no job id or branch in any label');
    assert.ok(after.has('process_cpu_user_seconds_total') && after.has('nodejs_eventloop_lag_seconds'), "Node's default metrics");
  });

  it('counts webhook deliveries by event and result (an unknown event as "other") and open event streams', async function () {
    const hook = (event: string) =>
      new WorkerClient(w.url, null).request(
        'POST',
        '/github/webhook',
        { action: 'created' },
        { 'x-github-event': event, 'x-github-delivery': '00000000-0000-4000-8000-000000000001', 'x-hub-signature-256': 'sha256=00' },
      );
    assert.equal((await hook('issue_comment')).status, 401);
    assert.equal((await hook('push')).status, 401);
    const m = await scrape();
    assert.equal(
      valueOf(m, 'kiro_webhook_deliveries_total', 'kiro_webhook_deliveries_total', { event: 'issue_comment', result: 'bad_signature' }),
      1,
    );
    assert.equal(
      valueOf(m, 'kiro_webhook_deliveries_total', 'kiro_webhook_deliveries_total', { event: 'other', result: 'bad_signature' }),
      1,
    );

    const stop = new AbortController();
    const stream = await new WorkerClient(w.url).request('GET', '/events', undefined, {}, stop.signal);
    assert.equal(stream.status, 200);
    await pollUntil(async () => valueOf(await scrape(), 'kiro_open_streams', 'kiro_open_streams', { route: '/events' }) === 1, {
      what: 'one open stream',
    });
    stop.abort();
    await pollUntil(async () => valueOf(await scrape(), 'kiro_open_streams', 'kiro_open_streams', { route: '/events' }) === undefined, {
      what: 'no open stream',
    });
  });

  it('401 without a token or with a wrong one; 200 for the worker token and for KIRO_METRICS_TOKEN', async function () {
    for (const token of [null, 'not-the-token-at-all-0123456789']) {
      const res = await new WorkerClient(w.url, token).request('GET', '/metrics');
      assert.equal(res.status, 401, String(token));
      assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
    assert.equal((await new WorkerClient(w.url, WORKER_TOKEN).request('GET', '/metrics')).status, 200);
    assert.equal((await scraper().request('GET', '/metrics')).status, 200);
  });

  it('hostile: KIRO_METRICS_TOKEN is refused on every other route (submit, list, read, cancel, log, events, health, audit)', async function () {
    assert.ok(jobId, 'the first test ran a job');
    const pr = await makeTaskPr(gh, 'alice', 'app', 'metrics-hostile', 'hostile');
    const attempts: Array<[string, string, unknown?]> = [
      ['POST', '/generate-code', jobRequest('alice', 'app', 'metrics-hostile', pr.number, 'hostile')],
      ['GET', '/jobs?mine=1'],
      ['GET', `/jobs/${jobId}`],
      ['POST', `/jobs/${jobId}/cancel`],
      ['GET', `/jobs/${jobId}/log`],
      ['GET', '/events'],
      ['GET', '/health'],
      ['GET', '/audit'],
    ];
    for (const [method, path, body] of attempts) {
      const res = await scraper().request(method, path, body);
      assert.equal(res.status, 401, `${method} ${path} answered ${res.status}`);
      await res.body?.cancel();
    }
    const unfinished = (await (await new WorkerClient(w.url).request('GET', '/health')).json()) as { queued: number; running: number };
    assert.deepEqual([unfinished.queued, unfinished.running], [0, 0], "nothing was queued with the scraper's token");
  });
});
