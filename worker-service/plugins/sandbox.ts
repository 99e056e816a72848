// The agents' sandbox as a plugin: decorates `app.sandbox` and refuses to start when
// agents cannot be confined (unless KIRO_SANDBOX=off, which warns). Each job's egress
// proxy is the sandbox's own (worker-service/sandbox/sandbox.ts), told this server's ports.
import fp from 'fastify-plugin';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { WorkerConfig } from '../config.js';
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
  const candidates = [new URL('./net-bridge.mjs', import.meta.url), new URL('../../dist/worker/net-bridge.mjs', import.meta.url)].map((u) =>
    fileURLToPath(u),
  );
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1] ?? '';
}

export default fp<SandboxPluginOptions>(
  async function sandboxPlugin(app: FastifyInstance, { config }) {
    const sandbox = new SandboxRuntime({
      config,
      onWarning: (message) => app.log.warn({ part: 'sandbox' }, message),
      bridgePath: bridgePath(),
      // No agent reaches this server: its ports are asked at each connection (port 0 is chosen at listen time).
      workerPorts: () => {
        const a = app.server.address();
        return a && typeof a === 'object' ? [a.port] : [];
      },
      egressLog: app.log.child({ part: 'egress' }),
      secretFiles: [config.configFile, config.githubAppPrivateKeyFile],
      serviceHome: process.env.HOME,
    });
    app.decorate('sandbox', sandbox);
    // Before the pool's onReady (registered after this plugin): no job runs until agents can be confined.
    app.addHook('onReady', async () => {
      await sandbox.init();
      const status = sandbox.status();
      if (status.warning) app.log.warn({ sandbox: status }, status.warning);
      else app.log.info({ sandbox: status }, 'agents run in a sandbox');
    });
  },
  { name: 'sandbox' },
);
