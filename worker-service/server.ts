// Starts the worker service: load configuration, listen, and drain on SIGTERM.
// `--check-config`: print the effective configuration (secrets masked) or its problems, and exit.
import { buildApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { checkConfig, EX_CONFIG } from './config/check.js';
import { SandboxUnavailableError } from './sandbox/sandbox.js';

async function main(): Promise<void> {
  if (process.argv.includes('--check-config')) {
    const r = checkConfig();
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exit(r.exitCode);
  }
  const { config, errors, warnings } = readConfig();
  if (!config) {
    for (const e of errors) process.stderr.write(`kiro-worker: bad configuration: ${e.message}\n`);
    process.exit(EX_CONFIG);
  }
  const app = await buildApp(config).catch((e: unknown) => {
    if (!ConfigError.is(e)) throw e;
    // A preset whose key is not set (found only where the agent's environment is known).
    process.stderr.write(`kiro-worker: bad configuration: ${e.message}\n`);
    return process.exit(EX_CONFIG);
  });
  // Names only, never values: a misspelt secret's value stays out of the log.
  for (const w of warnings) app.log.warn({ variable: w.variable }, `configuration: ${w.variable}: ${w.message}`);
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
