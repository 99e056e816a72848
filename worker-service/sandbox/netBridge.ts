// net-bridge: runs inside the sandbox under `KIRO_AGENT_NETWORK=allow:`, where
// the network namespace has only its own loopback. It listens on
// 127.0.0.1:<port> there, pipes every connection to the egress proxy's Unix
// socket (bound in from the host), and once listening runs the agent, whose
// HTTP(S)_PROXY points at that port. It lives as long as the agent and exits
// with the agent's status.
//
//   node net-bridge.mjs <port> <socketPath> -- <argv...>
//
// Exit status: the agent's; 128+n if the agent was killed by signal n; 125 if
// the bridge itself could not start (bad arguments, port taken, no socket), in
// which case the agent never ran; 126/127 if the agent could not be executed.
// node: built-ins only, bundled alone by esbuild (dist/worker/net-bridge.mjs),
// so that it starts fast.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import { pathToFileURL } from 'node:url';

export const BRIDGE_FAILED = 125;
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export interface BridgeArgs {
  port: number;
  socketPath: string;
  argv: string[];
}

export class BridgeUsageError extends Error {
  readonly code = 'BRIDGE_USAGE';
  static is(e: unknown): e is BridgeUsageError {
    return e instanceof BridgeUsageError;
  }
}

export const USAGE = 'usage: net-bridge <port> <socketPath> -- <command> [args...]';

/** Parses the bridge's arguments (process.argv without node and the script). */
export function parseBridgeArgs(args: readonly string[]): BridgeArgs {
  const [portText, socketPath, dashes, ...argv] = args;
  if (portText === undefined || socketPath === undefined || dashes !== '--') throw new BridgeUsageError(USAGE);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new BridgeUsageError(`port must be a number from 1 to 65535, got ${JSON.stringify(portText)}`);
  }
  if (socketPath === '') throw new BridgeUsageError('the proxy socket path is empty');
  if (argv.length === 0 || argv[0] === '') throw new BridgeUsageError(`no command to run after --; ${USAGE}`);
  return { port: Number(portText), socketPath, argv };
}

/** The shell's convention: the exit code, or 128 + the number of the signal that killed the process. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return n !== undefined ? 128 + n : 1;
}

function fail(message: string, status: number): never {
  process.stderr.write(`net-bridge: ${message}\n`);
  process.exit(status);
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} (${err.message})` : String(err.message ?? e);
}

/** Listens on 127.0.0.1:port and splices each connection to the Unix socket. */
export function listenBridge(port: number, socketPath: string): Promise<{ server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ path: socketPath, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    // pipe() carries a clean end (half-close) across; an error on either side ends both.
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', reject);
      resolve({ server, sockets });
    });
  });
}

async function main(rawArgs: readonly string[]): Promise<void> {
  let args: BridgeArgs;
  try {
    args = parseBridgeArgs(rawArgs);
  } catch (e) {
    if (BridgeUsageError.is(e)) fail(e.message, BRIDGE_FAILED);
    throw e;
  }
  // eslint-disable-next-line prefer-const -- the signal handler below reads it before spawn() assigns it
  let child: ChildProcess | undefined;
  // Installed before anything starts, so a signal during start-up is not lost.
  for (const sig of FORWARDED_SIGNALS) {
    process.on(sig, () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
      else if (!child) process.exit(exitStatus(null, sig));
    });
  }
  if (!existsSync(args.socketPath)) fail(`the egress proxy socket ${args.socketPath} does not exist`, BRIDGE_FAILED);
  const { server, sockets } = await listenBridge(args.port, args.socketPath).catch((e: unknown) =>
    fail(`cannot listen on 127.0.0.1:${args.port}: ${errorText(e)}`, BRIDGE_FAILED),
  );
  const [file, ...rest] = args.argv as [string, ...string[]];
  child = spawn(file, rest, { stdio: 'inherit', env: process.env, cwd: process.cwd() });
  child.once('error', (e: NodeJS.ErrnoException) => {
    // The command could not be executed at all (the shell's 127 / 126).
    fail(`cannot run ${JSON.stringify(file)}: ${errorText(e)}`, e.code === 'ENOENT' ? 127 : 126);
  });
  child.once('exit', (code, signal) => {
    server.close();
    for (const s of sockets) s.destroy();
    process.exit(exitStatus(code, signal));
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).catch((e: unknown) => fail(`unexpected failure: ${errorText(e)}`, BRIDGE_FAILED));
}
