// deploy/Dockerfile and deploy/compose.yaml, checked without a container engine (the image
// itself is built and run by `npm run test:container`, scripts/test-container.sh).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { AGENT_PRESETS } from '../../../worker-service/agent/presets.js';
import { loadConfig } from '../../../worker-service/config.js';
import { repoRoot } from '../../support/paths.js';

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
const dockerfile = read('deploy/Dockerfile');
/** The instructions, continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const copiedFromContext = instructions
  .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
  .flatMap((l) => l.split(/\s+/).slice(1, -1));
const ignored = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter(Boolean);

interface Service {
  environment?: Record<string, string>;
  security_opt?: string[];
  stop_grace_period?: string;
  volumes?: string[];
  ports?: string[];
  build?: { dockerfile: string; context: string; args: Record<string, string> };
}
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, Service> };

describe('deploy/Dockerfile', function () {
  it('copies from the build context only files that exist and that .dockerignore keeps', function () {
    assert.ok(copiedFromContext.length > 3);
    for (const src of copiedFromContext) {
      assert.ok(existsSync(join(repoRoot, src)), `COPY ${src}: no such file`);
      assert.ok(!ignored.some((i) => src === i || src.startsWith(`${i}/`)), `COPY ${src} is excluded by .dockerignore`);
    }
  });

  it('copies every source folder the worker, its bridge and the scripted agent are bundled from', async function () {
    const entries = ['worker-service/server.ts', 'worker-service/sandbox/netBridge.ts', 'test/support/agent/fakeKiro.ts'];
    const out = await build({
      entryPoints: entries.map((e) => join(repoRoot, e)),
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outdir: 'x',
    });
    const sources = Object.keys(out.metafile.inputs).map((i) => relative(repoRoot, join(process.cwd(), i)));
    const missing = sources.filter((s) => !copiedFromContext.some((c) => s === c || s.startsWith(`${c}/`)));
    assert.deepEqual(missing, [], 'sources the build stage does not COPY');
  });

  it('installs each agent preset at the version scripts/agents/install.sh pins, and documents its build arguments', function () {
    const install = read('scripts/agents/install.sh');
    for (const preset of AGENT_PRESETS.filter((p) => p !== 'custom' && p !== 'kiro')) {
      const pin = new RegExp(`package="([^"]+)@\\$${preset.toUpperCase()}_VERSION"`).exec(install)?.[1];
      const version = new RegExp(`${preset.toUpperCase()}_VERSION=(\\S+)`).exec(install)?.[1];
      assert.ok(pin && version, `${preset} in install.sh`);
      assert.match(
        dockerfile,
        new RegExp(`${preset}\\) npm install -g [^;]*${pin.replace(/[/.]/g, '\\$&')}@${version.replace(/\./g, '\\.')} ;;`),
        `AGENT=${preset}`,
      );
    }
    assert.match(dockerfile, /kiro\) echo "AGENT=kiro: [^"]+" >&2; exit 2 ;;/, 'AGENT=kiro says why it is not installed');
    for (const arg of instructions.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=')[0] ?? '')) {
      assert.match(dockerfile, new RegExp(`^#\\s+${arg}\\s`, 'm'), `ARG ${arg} is documented in the header`);
    }
    assert.ok(instructions.includes('ARG BASE_IMAGE=node:20-bookworm-slim'));
  });

  it('runs the built worker as a non-root user with bubblewrap and git, a HEALTHCHECK on /healthz, and run-time packages only', function () {
    const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
    assert.ok(runtime.includes('USER kiro'));
    assert.ok(runtime.some((l) => /apt-get install .*\bbubblewrap\b.*\bgit\b/.test(l)));
    assert.ok(runtime.some((l) => l.startsWith('HEALTHCHECK ') && l.includes('/healthz')));
    assert.ok(runtime.some((l) => l.startsWith('COPY --from=deps ') && l.includes('node_modules')));
    assert.ok(instructions.includes('RUN npm ci --omit=dev --no-audit --no-fund'));
    assert.equal(runtime.at(-1), 'CMD ["node", "dist/worker/server.mjs"]');
  });
});

describe('deploy/compose.yaml', function () {
  const workers = Object.entries(compose.services).filter(([name]) => name.startsWith('worker-'));

  it('runs two workers of the image on one Redis queue, each with its own id and state', function () {
    assert.equal(workers.length, 2);
    assert.ok(compose.services.redis);
    const ids = workers.map(([, s]) => s.environment?.KIRO_WORKER_ID);
    assert.equal(new Set(ids).size, 2, `ids ${ids.join(', ')}`);
    for (const [name, s] of workers) {
      assert.equal(s.build?.dockerfile, 'deploy/Dockerfile', name);
      assert.equal(s.environment?.KIRO_REDIS_URL, 'redis://redis:6379/0', name);
      assert.equal(s.environment?.KIRO_AGENT, s.build?.args.AGENT, `${name}: KIRO_AGENT is the CLI the image holds`);
      assert.ok(
        s.volumes?.some((v) => v.endsWith(':/var/lib/kiro-worker')),
        `${name}: state volume`,
      );
      assert.ok(
        s.ports?.every((p) => p.startsWith('127.0.0.1:')),
        `${name}: published on loopback only`,
      );
    }
  });

  it('lets bubblewrap make its namespaces, and waits for the drain longer than its graces', function () {
    const config = loadConfig({ KIRO_AGENT_COMMAND: '["x"]' });
    for (const [name, s] of workers) {
      for (const opt of ['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined'])
        assert.ok(s.security_opt?.includes(opt), `${name}: ${opt}`);
      const grace = Number(/^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1]) * 1000;
      assert.ok(grace > config.shutdownGraceMs + config.killGraceMs, `${name}: stop_grace_period ${s.stop_grace_period}`);
    }
  });
});
