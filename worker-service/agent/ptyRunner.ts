// Runs the agent in a pseudo-terminal (node-pty) and stops its whole process
// group when asked: node-pty's kill() signals one pid only, and agents spawn
// helpers (language servers, test runners) that would outlive it.
import * as pty from 'node-pty';
import { signalDescendants } from '../sandbox/processTree.js';

export interface AgentExit {
  exitCode: number;
  /** Signal number (0 when it exited normally). */
  signal: number;
  /** Why we stopped it, when we did. */
  stoppedBy: 'timeout' | 'cancel' | 'silence' | 'shutdown' | 'limit' | null;
}

export interface AgentProcess {
  readonly pid: number;
  readonly exited: Promise<AgentExit>;
  stop(reason: NonNullable<AgentExit['stoppedBy']>, graceMs: number): Promise<AgentExit>;
}

export interface SpawnAgentOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  onData: (chunk: string) => void;
  /**
   * The argv starts bubblewrap: SIGTERM goes to the processes inside the sandbox
   * (bwrap would die at once and take them down unwarned), and bwrap's exit code
   * 128+N means the agent died of signal N.
   */
  sandboxed?: boolean;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the pty child is a session (and group) leader
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function spawnAgent(opts: SpawnAgentOptions): AgentProcess {
  const [file, ...args] = opts.argv;
  if (!file) throw new Error('empty agent command');
  const child = pty.spawn(file, args, { name: 'xterm-256color', cols: 160, rows: 48, cwd: opts.cwd, env: opts.env });
  let stoppedBy: AgentExit['stoppedBy'] = null;
  const dataSub = child.onData(opts.onData);
  const exited = new Promise<AgentExit>((resolve) => {
    child.onExit(({ exitCode, signal }) => {
      dataSub.dispose();
      // Helpers left in the group go too, so that nothing outlives its job.
      signalGroup(child.pid, 'SIGKILL');
      if (opts.sandboxed && !signal && exitCode > 128 && exitCode < 128 + 65) resolve({ exitCode, signal: exitCode - 128, stoppedBy });
      else resolve({ exitCode, signal: signal ?? 0, stoppedBy });
    });
  });
  return {
    pid: child.pid,
    exited,
    async stop(reason, graceMs) {
      stoppedBy ??= reason;
      if (opts.sandboxed) signalDescendants(child.pid, 'SIGTERM');
      else signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
