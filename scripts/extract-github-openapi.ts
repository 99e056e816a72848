// Extracts the REST operations the GitHub stand-in serves from GitHub's official
// OpenAPI description (@octokit/openapi, about 385 MB unpacked, so it is not a
// dependency) into test/support/github/openapi-subset.json, which is committed.
// Run again after changing OPERATIONS or the pinned version:
//   npx tsx scripts/extract-github-openapi.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@octokit/openapi@23.0.2';
const FILE = 'package/generated/api.github.com.json';
/** method + path template, exactly as in the description. */
const OPERATIONS = [
  'get /repos/{owner}/{repo}',
  'get /repos/{owner}/{repo}/git/ref/{ref}',
  'post /repos/{owner}/{repo}/git/refs',
  'delete /repos/{owner}/{repo}/git/refs/{ref}',
  'put /repos/{owner}/{repo}/contents/{path}',
  'post /repos/{owner}/{repo}/pulls',
  'get /repos/{owner}/{repo}/pulls/{pull_number}',
  'patch /repos/{owner}/{repo}/pulls/{pull_number}',
  'get /repos/{owner}/{repo}/issues/{issue_number}/comments',
  'post /repos/{owner}/{repo}/issues/{issue_number}/comments',
  // After the agent's push: ask the delegating user for a review.
  'post /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers',
  // GitHub App credentials: find the repository's installation, make a token for one job, revoke it.
  'get /repos/{owner}/{repo}/installation',
  'post /app/installations/{installation_id}/access_tokens',
  'delete /installation/token',
  // Identity (KIRO_AUTH=github): who a token belongs to, and what they may do in a repository.
  'get /user',
  'get /repos/{owner}/{repo}/collaborators/{username}/permission',
  // Steering from GitHub (/kiro): reactions, the Kiro check run or status, a review's comments and replies in its threads.
  'post /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
  'post /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions',
  'post /repos/{owner}/{repo}/issues/{issue_number}/reactions',
  'post /repos/{owner}/{repo}/check-runs',
  'patch /repos/{owner}/{repo}/check-runs/{check_run_id}',
  'get /repos/{owner}/{repo}/commits/{ref}/check-runs',
  'post /repos/{owner}/{repo}/statuses/{sha}',
  'get /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments',
  'post /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies',
];

// The OpenAPI document is untyped JSON walked generically; `any` is its honest type here.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'test', 'support', 'github', 'openapi-subset.json');
const tmp = mkdtempSync(join(tmpdir(), 'gh-openapi-'));
try {
  const tgz =
    execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
  execFileSync('tar', ['xzf', join(tmp, tgz), '-C', tmp, FILE]);
  const spec: Json = JSON.parse(readFileSync(join(tmp, FILE), 'utf8'));

  const wanted = new Set<string>();
  const pointer = (ref: string): Json =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((o: Json, k: string) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  const collect = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice('#/components/schemas/'.length);
        if (!wanted.has(name)) {
          wanted.add(name);
          collect(spec.components.schemas[name]);
        }
      } else if (k !== 'examples' && k !== 'example') collect(v);
    }
  };

  const operations: Record<string, Json> = {};
  for (const op of OPERATIONS) {
    const [method = '', path = ''] = op.split(' ');
    const operation = spec.paths[path]?.[method];
    if (!operation) throw new Error(`${op} is not in ${PACKAGE}`);
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries<Json>(operation.responses)) {
      const resolved = r.$ref ? pointer(r.$ref) : r;
      const schema = resolved.content?.['application/json']?.schema ?? null;
      responses[status] = schema;
      collect(schema);
    }
    operations[op] = { operationId: operation.operationId, responses };
  }
  const schemas = Object.fromEntries([...wanted].sort().map((n) => [n, spec.components.schemas[n]]));
  // Drops annotations (not validation keywords) to keep the file small; the keys of
  // a `properties` map are property names, never annotations, so they all stay.
  const ANNOTATIONS = new Set(['example', 'examples', 'description', 'title']);
  const strip = (node: Json, isPropertyMap = false): Json => {
    if (Array.isArray(node)) return node.map((n: Json) => strip(n));
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries<Json>(node)
        .filter(([k]) => isPropertyMap || !ANNOTATIONS.has(k))
        .map(([k, v]) => [k, strip(v, !isPropertyMap && k === 'properties')]),
    );
  };
  const doc = {
    source: `${PACKAGE} ${FILE.replace('package/', '')}`,
    openapi: spec.openapi,
    operations: strip(operations),
    components: { schemas: strip(schemas) },
  };
  writeFileSync(out, JSON.stringify(doc) + '\n');
  console.log(`wrote ${out}: ${OPERATIONS.length} operations, ${wanted.size} schemas`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
