// The agents' sandbox as a plugin: decorates `app.sandbox`, refuses to start when
// agents cannot be confined (unless KIRO_SANDBOX=off, which warns), and runs the
// egress proxy that `KIRO_AGENT_NETWORK=allow:` sends agents through.
import fp from 'fastify-plugin';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
import { startEgressProxy } from '../sandbox/egressProxy.js';
import { SandboxRuntime } from '../sandbox/sandbox.js';

declare module 'fastify' {
  interface FastifyInstance {
    sandbox: SandboxRuntime;
  }
}

export interface SandboxPluginOptions {
  config: WorkerConfig;
}

/** dist/worker/net-bridge.mjs beside the bundled server, or in dist/ when the sources run through tsx. */
function bridgePath(): string {
  const candidates = [new URL('./net-bridge.mjs', import.meta.url), new URL('../../dist/worker/net-bridge.mjs', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1] ?? '';
}

export default fp<SandboxPluginOptions>(async function sandboxPlugin(app: FastifyInstance, { config }) {
  const egressSocket = join(config.stateDir, 'sandbox', 'egress.sock');
  const sandbox = new SandboxRuntime({
    config,
    onWarning: (message) => app.log.warn({ part: 'sandbox' }, message),
    bridgePath: bridgePath(),
    egressSocket,
    secretFiles: [config.configFile, config.githubAppPrivateKeyFile],
    serviceHome: process.env.HOME,
  });
  app.decorate('sandbox', sandbox);
  let proxy: { close(): Promise<void> } | null = null;
  // Before the pool's onReady (registered after this plugin): no job runs until agents can be confined.
  app.addHook('onReady', async () => {
    await sandbox.init();
    const status = sandbox.status();
    if (status.warning) app.log.warn({ sandbox: status }, status.warning);
    else app.log.info({ sandbox: status }, 'agents run in a sandbox');
    if (config.sandbox.enabled && config.sandbox.network.mode === 'allow') {
      await mkdir(join(config.stateDir, 'sandbox'), { recursive: true });
      proxy = await startEgressProxy({ socketPath: egressSocket, allow: config.sandbox.network.hosts, log: app.log.child({ part: 'egress' }) });
    }
  });
  app.addHook('onClose', async () => {
    await proxy?.close();
  });
}, { name: 'sandbox' });
