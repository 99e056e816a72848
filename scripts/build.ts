// Builds every artefact with esbuild:
//   dist/extension.js          the VS Code extension, one CommonJS file (vscode external)
//   dist/github-client.js      its GitHub client (Octokit), required lazily on first use
//   dist/webview/form.js       the form's browser code (issue 4)
//   dist/worker/server.mjs     the worker service (npm packages stay external: node-pty is native)
//   dist/worker/net-bridge.mjs the egress bridge started inside an agent's sandbox under KIRO_AGENT_NETWORK=allow:
//   dist/test/fake-kiro.mjs    the scripted stand-in agent used by tests, benchmarks and the demo
//   dist/test/hostile-agent.mjs  the scripted hostile agent of the sandbox tests
// Type-checking is separate (`tsc --noEmit`). Usage: tsx scripts/build.ts [--watch]
import { build, context, type BuildOptions } from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';

const production = process.env.NODE_ENV !== 'development';
const common: BuildOptions = { bundle: true, sourcemap: production ? false : 'inline', logLevel: 'warning', legalComments: 'none' };

const targets: BuildOptions[] = [
  {
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', './github-client.js'],
    minify: production,
  },
  // The GitHub client (Octokit and its plugins), loaded by the extension on first use, not at activation.
  {
    ...common,
    entryPoints: ['extension/github/client.ts'],
    outfile: 'dist/github-client.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    minify: production,
  },
  {
    ...common,
    entryPoints: ['worker-service/server.ts'],
    outfile: 'dist/worker/server.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
  },
  {
    ...common,
    entryPoints: ['worker-service/sandbox/netBridge.ts'],
    outfile: 'dist/worker/net-bridge.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
  },
  {
    ...common,
    entryPoints: ['test/support/agent/fakeKiro.ts'],
    outfile: 'dist/test/fake-kiro.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: ['test/support/agent/hostileAgent.ts'],
    outfile: 'dist/test/hostile-agent.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
];
// The mocha suite that runs inside VS Code's extension host (CommonJS, like the extension).
targets.push({
  ...common,
  entryPoints: ['test/e2e/host/suite.ts'],
  outfile: 'dist/test/host-suite.cjs',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'mocha'],
});
if (existsSync('extension/webview/form.ts')) {
  targets.push({
    ...common,
    entryPoints: ['extension/webview/form.ts'],
    outfile: 'dist/webview/form.js',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: production,
  });
}

const present = targets.filter((t) => (t.entryPoints as string[]).every((e) => existsSync(e)));
// --watch: esbuild's incremental contexts, built once now and again on every change.
const contexts = process.argv.includes('--watch') ? await Promise.all(present.map((t) => context({ ...t, logLevel: 'info' }))) : null;
await Promise.all(contexts ? contexts.map((c) => c.rebuild()) : present.map((t) => build(t)));
// The root package is "type": "module"; the extension bundle is CommonJS.
await mkdir('dist', { recursive: true });
await writeFile('dist/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
const { chmod } = await import('node:fs/promises');
await chmod('dist/test/fake-kiro.mjs', 0o755);
await chmod('dist/test/hostile-agent.mjs', 0o755);
if (contexts) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('build: watching for changes (Ctrl+C stops)');
}
