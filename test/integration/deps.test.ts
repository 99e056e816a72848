// A server installs only `dependencies` (npm ci --omit=dev, as deploy/Dockerfile does): the
// built worker must import nothing else, and must start from such an install alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../support/paths.js';
import { withTempDir } from '../support/helpers.js';
import { startWorkerProcess, stopProcess } from '../support/worker.js';

interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const manifest = async (): Promise<Manifest> => JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as Manifest;
/** The worker's built files a server runs (the server, and the bridge it starts in sandboxes). */
const WORKER_BUNDLES = ['dist/worker/server.mjs', 'dist/worker/net-bridge.mjs'];

/** The npm packages a built bundle imports at run time (its externals), by package name. */
async function importedPackages(bundle: string): Promise<string[]> {
  const out = await build({
    entryPoints: [join(repoRoot, bundle)],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: 'x.mjs',
  });
  const names = Object.values(out.metafile.outputs)
    .flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path))
    .filter((p) => !p.startsWith('node:'))
    .map((p) =>
      p
        .split('/')
        .slice(0, p.startsWith('@') ? 2 : 1)
        .join('/'),
    );
  return [...new Set(names)].sort();
}

/** npm ci from the cache alone (CI and this machine hold every package); --prefer-offline where a cache misses one. */
function npmCiProduction(cwd: string): void {
  const run = (mode: string) =>
    execFileSync('flock', ['/tmp/npm.lock', 'npm', 'ci', '--omit=dev', '--no-audit', '--no-fund', mode], {
      cwd,
      stdio: 'pipe',
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  try {
    run('--offline');
  } catch {
    run('--prefer-offline');
  }
}

describe('The worker on a server: run-time dependencies only', function () {
  this.timeout(180_000);

  it('imports only packages listed in dependencies, none of the devDependencies', async function () {
    const { dependencies, devDependencies } = await manifest();
    for (const bundle of WORKER_BUNDLES) {
      const used = await importedPackages(bundle);
      assert.deepEqual(
        used.filter((p) => !(p in dependencies)),
        [],
        `${bundle} imports packages that are not in dependencies`,
      );
      assert.deepEqual(
        used.filter((p) => p in devDependencies),
        [],
        `${bundle} imports devDependencies`,
      );
    }
    assert.ok((await importedPackages('dist/worker/server.mjs')).includes('fastify'), "the analysis sees the server's imports");
  });

  it('starts from npm ci --omit=dev and answers GET /healthz', async function () {
    const { devDependencies } = await manifest();
    await withTempDir(async (dir) => {
      for (const f of ['package.json', 'package-lock.json']) await cp(join(repoRoot, f), join(dir, f));
      await cp(join(repoRoot, 'dist/worker'), join(dir, 'dist/worker'), { recursive: true });
      await cp(join(repoRoot, 'dist/test/fake-kiro.mjs'), join(dir, 'dist/test/fake-kiro.mjs'));
      npmCiProduction(dir);
      const installed = (await readdir(join(dir, 'node_modules'))).flatMap((n) => (n.startsWith('@') ? [] : [n]));
      assert.ok(installed.includes('fastify'));
      for (const dev of ['esbuild', 'tsx', 'mocha', 'typescript', '@vscode-elements/elements'])
        assert.ok(dev in devDependencies, `${dev} is a devDependency`);
      for (const dev of ['esbuild', 'tsx', 'mocha']) assert.ok(!installed.includes(dev), `${dev} was installed by --omit=dev`);
      const home = join(dir, 'home');
      await mkdir(home);
      // Embedded defaults (embedded queue, sandbox on, no token on loopback) but a free port and the scripted agent.
      const worker = await startWorkerProcess(
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          KIRO_WORKER_HOST: '127.0.0.1',
          KIRO_WORKER_PORT: '0',
          KIRO_WORKER_STATE_DIR: join(dir, 'state'),
          KIRO_AGENT_COMMAND: JSON.stringify([join(dir, 'dist/test/fake-kiro.mjs'), '{prompt}']),
        },
        { cwd: dir },
      );
      try {
        const res = await fetch(`${worker.url}/healthz`);
        assert.equal(res.status, 200, worker.output());
        assert.equal(((await res.json()) as { ok: boolean }).ok, true);
      } finally {
        await stopProcess(worker.child);
      }
    });
  });
});
