// Routes through app.inject: no socket, no agent run (a missing agent command).
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../worker-service/app.js';
import { loadConfig } from '../../../worker-service/config.js';
import { tempDir } from '../../support/helpers.js';
import { embeddedQueueOf } from '../../support/worker.js';
import { PROTOCOL_VERSION } from '../../../shared/protocol.js';

describe('worker app (inject)', function () {
  let app: FastifyInstance;
  const auth = { authorization: 'Bearer unit-test-token-1234' };
  const good = {
    owner: 'o',
    repo: 'r',
    branch: 'b-1',
    prNumber: 1,
    baseBranch: 'main',
    title: 't',
    taskDescription: 'd',
    idempotencyKey: 'PR1',
  };

  before(async function () {
    const config = loadConfig({
      KIRO_WORKER_TOKEN: 'unit-test-token-1234',
      KIRO_WORKER_STATE_DIR: await tempDir(),
      KIRO_WORKER_SLOTS: '1',
      KIRO_WORKER_QUEUE_LIMIT: '0',
      KIRO_AGENT_COMMAND: '["/nonexistent/agent"]',
      KIRO_GIT_BASE_URL: 'http://127.0.0.1:9',
      KIRO_BRANCH_PREFIX: '',
    });
    app = await buildApp(config, { logger: false });
    await app.ready();
  });
  after(async () => app.close());

  it('validates the body and names the field', async function () {
    const res = await app.inject({ method: 'POST', url: '/generate-code', headers: auth, payload: { ...good, prNumber: 'one' } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual({ code: res.json().code, field: res.json().field }, { code: 'BAD_REQUEST', field: 'prNumber' });
  });

  it('accepts a job (202), then answers a duplicate key with the same job (200)', async function () {
    const a = await app.inject({ method: 'POST', url: '/generate-code', headers: auth, payload: good });
    assert.equal(a.statusCode, 202);
    assert.match(a.json().jobId, /^[0-9a-f-]{36}$/);
    const b = await app.inject({ method: 'POST', url: '/generate-code', headers: auth, payload: good });
    assert.equal(b.statusCode, 200);
    assert.equal(b.json().jobId, a.json().jobId);
    const status = await app.inject({ method: 'GET', url: `/jobs/${a.json().jobId}`, headers: auth });
    assert.equal(status.statusCode, 200);
    assert.equal(status.json().owner, 'o');
  });

  it('answers 503 with Retry-After when the queue (limit 0) is full and the slot busy', async function () {
    embeddedQueueOf(app).slots[0]?.set('busy', 'someone');
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/generate-code',
        headers: auth,
        payload: { ...good, idempotencyKey: 'PR2', branch: 'b-2' },
      });
      assert.equal(res.statusCode, 503);
      assert.ok(Number(res.headers['retry-after']) >= 5);
    } finally {
      embeddedQueueOf(app).slots[0]?.set('idle');
    }
  });

  it('states its protocol version on GET /health (what the extension compares with its own)', async function () {
    const res = await app.inject({ method: 'GET', url: '/health', headers: auth });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().protocol, PROTOCOL_VERSION);
    assert.ok(Number.isInteger(PROTOCOL_VERSION) && PROTOCOL_VERSION >= 1);
  });

  it('hides 5xx details and answers unknown routes with 404', async function () {
    const res = await app.inject({ method: 'GET', url: '/nope', headers: auth });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'NOT_FOUND');
  });
});
