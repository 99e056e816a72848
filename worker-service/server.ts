// Starts the worker service: load configuration, listen, and drain on SIGTERM.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { SandboxUnavailableError } from './sandbox/sandbox.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (ConfigError.is(e)) {
      process.stderr.write(`kiro-worker: bad configuration: ${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const app = await buildApp(config).catch((e: unknown) => {
    if (!ConfigError.is(e)) throw e;
    // A preset whose key is not set (found only where the agent's environment is known).
    process.stderr.write(`kiro-worker: bad configuration: ${e.message}\n`);
    return process.exit(78); // EX_CONFIG
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'draining: new jobs get 503, running jobs may finish');
    await app.jobs.drain(config.shutdownGraceMs);
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    if (!SandboxUnavailableError.is(e)) throw e;
    // Never a silent fallback to running agents unconfined.
    process.stderr.write(`kiro-worker: cannot start: ${e.message}\n`);
    process.exit(69); // EX_UNAVAILABLE
  }
  app.log.info({ stateDir: config.stateDir, slots: config.slots, agent: config.agentCommand[0] }, 'kiro worker ready');
}

main().catch((e: unknown) => {
  process.stderr.write(`kiro-worker: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
