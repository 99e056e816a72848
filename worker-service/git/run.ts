// Runs git with an argv array (never a shell), a controlled environment and a
// timeout. Every git call in the project goes through here.
import { execFile } from 'node:child_process';

export class GitError extends Error {
  readonly code = 'GIT_FAILED';
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
  static is(e: unknown): e is GitError {
    return e instanceof GitError;
  }
}

export interface GitRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Extra `-c key=value` pairs passed through GIT_CONFIG_* so they never show in argv. */
  config?: Record<string, string>;
}

/** The environment git always runs with: no prompts, no user or system config surprises. */
export function baseGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_ASKPASS: 'true',
    ...extra,
  };
}

/** GIT_CONFIG_COUNT/KEY/VALUE variables: config that reaches git through the environment only. */
export function configEnv(config: Record<string, string>): NodeJS.ProcessEnv {
  const entries = Object.entries(config);
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

export function runGit(args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
  const env = { ...baseGitEnv(opts.env), ...(opts.config ? configEnv(opts.config) : {}) };
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args as string[],
      { cwd: opts.cwd, env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const exitCode = typeof err.code === 'number' ? err.code : null;
          // Only the subcommand is named: arguments may carry paths or refs the caller logs itself.
          reject(
            new GitError(
              `git ${args[0] ?? ''} failed (${exitCode ?? err.signal ?? err.code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
              args,
              exitCode,
              stderr,
            ),
          );
        } else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
