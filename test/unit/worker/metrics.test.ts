// WorkerMetrics on its own: a final job counted once, on the host that ran it (every host
// of a fleet hears every job's events); error codes from a closed list; two instances in
// one process keep separate figures; the Grafana dashboard names only metrics that exist.
// And who may read GET /metrics in github mode (inject).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus } from '../../../shared/protocol.js';
import { buildApp } from '../../../worker-service/app.js';
import { loadConfig } from '../../../worker-service/config.js';
import { WorkerMetrics } from '../../../worker-service/metrics/workerMetrics.js';
import { tempDir } from '../../support/helpers.js';
import { repoRoot } from '../../support/paths.js';
import { parsePrometheus, valueOf } from '../../support/prometheus.js';

const status = (jobId: string, over: Partial<JobStatus> = {}): JobStatus => ({
  jobId,
  state: 'succeeded',
  owner: 'o',
  repo: 'r',
  branch: 'b',
  prNumber: 1,
  title: 't',
  attempts: 1,
  position: 0,
  slotId: 0,
  createdAt: new Date().toISOString(),
  startedAt: null,
  finishedAt: null,
  exitCode: 0,
  signal: null,
  commitSha: null,
  error: null,
  outputTail: [],
  ...over,
});
const finished = async (m: WorkerMetrics, labels: Record<string, string>) =>
  valueOf(parsePrometheus(await m.text()), 'kiro_jobs_finished_total', 'kiro_jobs_finished_total', labels);

describe('WorkerMetrics', () => {
  it('counts a final job once, however often its final event comes; not before it is final', async () => {
    const m = new WorkerMetrics({ preset: 'kiro' });
    m.job(status('a', { state: 'running' }));
    assert.equal(await finished(m, { state: 'succeeded' }), undefined);
    m.job(status('a'));
    m.job(status('a'));
    assert.equal(await finished(m, { state: 'succeeded', code: 'none' }), 1);
  });

  it('in a fleet, counts only the jobs this host ran', async () => {
    const m = new WorkerMetrics({ preset: 'kiro', hostId: 'host-a' });
    m.job(status('a', { host: 'host-b' }));
    m.job(status('b', { host: 'host-a' }));
    assert.equal(await finished(m, { state: 'succeeded' }), 1);
  });

  it('labels a code this build does not know as OTHER (no text from elsewhere becomes a label)', async () => {
    const m = new WorkerMetrics({ preset: 'kiro' });
    m.job(status('a', { state: 'failed', error: { code: 'AGENT_FAILED', message: 'x' } }));
    m.job(status('b', { state: 'failed', error: { code: 'made-up by "someone"', message: 'x' } }));
    assert.equal(await finished(m, { state: 'failed', code: 'AGENT_FAILED' }), 1);
    assert.equal(await finished(m, { state: 'failed', code: 'OTHER' }), 1);
  });

  it('two instances in one process do not share figures or collide on names', async () => {
    const one = new WorkerMetrics({ preset: 'kiro' });
    const two = new WorkerMetrics({ preset: 'kiro' });
    one.job(status('a'));
    assert.equal(await finished(one, { state: 'succeeded' }), 1);
    assert.equal(await finished(two, { state: 'succeeded' }), undefined);
  });

  it('the Grafana dashboard (deploy/grafana-dashboard.json) asks only for metrics the worker has', async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const families = parsePrometheus(await new WorkerMetrics({ preset: 'kiro' }).text());
    const asked = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(?:kiro|nodejs|process)_[a-z0-9_]+/g) ?? []));
    assert.ok(asked.length > 10);
    for (const name of asked) assert.ok(families.has(name) || families.has(name.replace(/_(bucket|count|sum)$/, '')), name);
  });
});

describe('GET /metrics in KIRO_AUTH=github mode (inject)', function () {
  it('a signed-in user gets 403; the admin (worker token) and KIRO_METRICS_TOKEN get 200', async function () {
    const config = loadConfig({
      KIRO_AUTH: 'github',
      KIRO_SESSION_SECRET: 's'.repeat(40),
      KIRO_WORKER_TOKEN: 'unit-admin-token-1234',
      KIRO_METRICS_TOKEN: 'unit-metrics-token-1234',
      KIRO_GITHUB_TOKEN: 'unit-github-token',
      KIRO_GITHUB_API_URL: 'http://127.0.0.1:9',
      KIRO_WORKER_STATE_DIR: await tempDir(),
      KIRO_AGENT_COMMAND: '["/nonexistent/agent"]',
      KIRO_GIT_BASE_URL: 'http://127.0.0.1:9',
    });
    const app = await buildApp(config, { logger: false });
    try {
      await app.ready();
      const session = app.issueSession?.('alice');
      assert.ok(session);
      const as = async (token: string) => (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode;
      assert.equal(await as(session.token), 403);
      assert.equal(await as('unit-admin-token-1234'), 200);
      assert.equal(await as('unit-metrics-token-1234'), 200);
    } finally {
      await app.close();
    }
  });
});
