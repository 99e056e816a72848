// The worker describes itself: GET /openapi.json (OpenAPI 3.1, from the routes' TypeBox
// schemas) and the UI at /docs, behind a credential unless KIRO_PUBLIC_DOCS=1.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../worker-service/app.js';
import { loadConfig } from '../../../worker-service/config.js';
import { isDocsRoute } from '../../../worker-service/plugins/openapi.js';
import { repoRoot } from '../../support/paths.js';
import { tempDir } from '../../support/helpers.js';

const TOKEN = 'unit-test-token-1234';
const auth = { authorization: `Bearer ${TOKEN}` };

type Operation = {
  requestBody?: { content: Record<string, { schema: object }> };
  parameters?: { in: string; name: string; schema: object }[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  security?: unknown[];
};
type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

/** Every `app.get('/x', …)` / `scope.post('/y', …)` in the worker's source: the routes the description must hold. */
function declaredRoutes(): { method: string; url: string; file: string }[] {
  const out: { method: string; url: string; file: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const [, method, url] of readFileSync(p, 'utf8').matchAll(/\b(?:app|scope)\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)) {
          if (method && url) out.push({ method: method.toUpperCase(), url, file: relative(repoRoot, p) });
        }
      }
    }
  };
  walk(join(repoRoot, 'worker-service'));
  return out;
}

const openapiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');

async function appWith(env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({
    KIRO_WORKER_TOKEN: TOKEN,
    KIRO_WORKER_STATE_DIR: await tempDir(),
    KIRO_AGENT_COMMAND: '["/nonexistent/agent"]',
    KIRO_GIT_BASE_URL: 'http://127.0.0.1:9',
    // Every optional route on: the webhook and the metrics scraper's token.
    KIRO_GITHUB_WEBHOOK_SECRET: 'a-webhook-secret-for-the-description',
    KIRO_GITHUB_TOKEN: 'ghp_unit',
    KIRO_METRICS_TOKEN: 'a-scraper-token-0123456789',
    ...env,
  });
  const app = await buildApp(config, { logger: false });
  await app.ready();
  return app;
}

describe("the worker's API description (OpenAPI at /openapi.json, UI at /docs)", function () {
  let app: FastifyInstance;
  let doc: Doc;
  before(async () => {
    app = await appWith({});
    const res = await app.inject({ method: 'GET', url: '/openapi.json', headers: auth });
    assert.equal(res.statusCode, 200, res.body);
    doc = res.json();
  });
  after(async () => app.close());

  it('lists every route the worker declares, with its method, and none that it does not serve', () => {
    const routes = declaredRoutes().filter((r) => !isDocsRoute(r.url));
    assert.ok(routes.length >= 12, `the scan found the routes (${routes.map((r) => `${r.method} ${r.url}`).join(', ')})`);
    for (const r of routes) {
      assert.ok(app.hasRoute({ method: r.method, url: r.url }), `${r.method} ${r.url} (${r.file}) is served in this configuration`);
      assert.ok(doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()], `${r.method} ${r.url} (${r.file}) is described`);
    }
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const declared = new Set(routes.map((r) => `${r.method} ${openapiPath(r.url)}`));
    assert.deepEqual(
      described.filter((d) => !declared.has(d)),
      [],
      'nothing described that the source does not declare',
    );
    assert.ok(!Object.keys(doc.paths).some((p) => isDocsRoute(p)), 'the description leaves out itself and the UI');
  });

  it('gives each operation its request and response schemas, and each is a valid JSON Schema', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    let compiled = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const responses = Object.entries(op.responses ?? {});
        assert.ok(responses.length > 0, `${where} has responses`);
        const schemas = responses.flatMap(([, r]) => Object.values(r.content ?? {}).map((c) => c.schema));
        assert.ok(schemas.length > 0, `${where} describes at least one response body`);
        if (method === 'post' && !path.includes('cancel')) assert.ok(op.requestBody?.content, `${where} describes its body`);
        for (const p of op.parameters ?? []) schemas.push(p.schema);
        for (const c of Object.values(op.requestBody?.content ?? {})) schemas.push(c.schema);
        for (const s of schemas) {
          ajv.compile(s);
          compiled++;
        }
      }
    }
    assert.ok(compiled >= 30, `compiled ${compiled} schemas`);
  });

  it("is OpenAPI 3.1 with the worker's version, a bearer scheme, and no credential asked of the public routes", () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: (doc.components.securitySchemes.bearer as { description: string }).description,
    });
    assert.deepEqual(doc.paths['/healthz']?.get?.security, []);
    assert.deepEqual(doc.paths['/github/webhook']?.post?.security, []);
    assert.equal(doc.paths['/generate-code']?.post?.security, undefined, 'the global bearer requirement holds');
  });

  it('hostile: without a credential, /openapi.json and /docs answer 401; with one, 200', async () => {
    for (const url of ['/openapi.json', '/docs', '/docs/static/swagger-ui.css', '/docs/json']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401, url);
      assert.equal(
        (await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer a-scraper-token-0123456789' } })).statusCode,
        401,
        `${url}: the scraper token reads /metrics only`,
      );
    }
    const ui = await app.inject({ method: 'GET', url: '/docs', headers: auth });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger-ui/i);
  });

  it('KIRO_PUBLIC_DOCS=1 serves both without a credential, and nothing else opens with them', async () => {
    const open = await appWith({ KIRO_PUBLIC_DOCS: '1' });
    try {
      assert.equal((await open.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
      assert.equal((await open.inject({ method: 'GET', url: '/docs' })).statusCode, 200);
      assert.equal((await open.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode, 200);
      for (const url of ['/jobs', '/health', '/audit', '/metrics'])
        assert.equal((await open.inject({ method: 'GET', url })).statusCode, 401, url);
    } finally {
      await open.close();
    }
  });
});
