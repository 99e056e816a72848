// The agent's command line: an argv template in which "{prompt}" and
// "{taskFile}" are replaced as whole arguments (never spliced into a string, never
// given to a shell), and the environment the agent gets: an allow-list, so the
// service's own secrets never reach it.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export const AGENT_PROMPT =
  'Implement the task described in TASK.md at the root of this repository. Read TASK.md first and follow its ' +
  'objective, constraints and acceptance criteria. Edit the files in this working tree only; do not commit, push ' +
  'or create branches: the service commits and pushes your changes when you finish. If TASK.md ends with ' +
  '"## Follow-up N" sections, the earlier work is already on this branch: do what the latest follow-up asks.';

export function expandCommand(template: readonly string[], values: { prompt: string; taskFile: string }): string[] {
  return template.map((arg) => (arg === '{prompt}' ? values.prompt : arg === '{taskFile}' ? values.taskFile : arg));
}

export interface AgentLookup {
  command: string;
  found: boolean;
  path: string | null;
  message: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Finds the agent's executable the way execvp would, and says plainly what to do when it is missing. */
export function findAgent(command: string, pathEnv = process.env.PATH ?? ''): AgentLookup {
  if (command.includes('/')) {
    const found = isExecutable(command);
    return {
      command,
      found,
      path: found ? command : null,
      message: found
        ? `agent ${command} is ready`
        : `agent ${command} does not exist or is not executable; set KIRO_AGENT (a preset) or KIRO_AGENT_COMMAND`,
    };
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return { command, found: true, path: candidate, message: `agent ${command} found at ${candidate}` };
  }
  return {
    command,
    found: false,
    path: null,
    message: `agent ${command} was not found on PATH; install it on this host, or set KIRO_AGENT (kiro, claude, codex, gemini, opencode) or KIRO_AGENT_COMMAND to the agent's argv (JSON array)`,
  };
}

/** The host's PATH without folders inside a node_modules tree (npm puts the service's own tools there: they are not the agent's). */
export function agentPath(hostPath: string): string {
  return hostPath
    .split(delimiter)
    .filter((d) => d && !/[\\/]node_modules([\\/]|$)/.test(d))
    .join(delimiter);
}

const BASE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/** The service's own secrets: never passed to an agent, even if listed. */
export function isServiceSecret(name: string): boolean {
  return /^(KIRO_WORKER_TOKEN|KIRO_GITHUB_TOKEN|KIRO_GITHUB_APP_.*|KIRO_GITHUB_WEBHOOK_SECRET|KIRO_SESSION_SECRET|KIRO_METRICS_TOKEN|KIRO_REDIS_URL|GIT_CONFIG_.*)$/.test(
    name,
  );
}

/** The agent's environment: a short allow-list plus the names the operator adds. */
export function agentEnv(source: NodeJS.ProcessEnv, extraNames: readonly string[]): Record<string, string> {
  const env: Record<string, string> = { TERM: 'xterm-256color', COLORTERM: 'truecolor', CI: '1', KIRO_DELEGATE: '1' };
  for (const name of [...BASE_ENV, ...extraNames]) {
    // Defence in depth: the service's own secrets are never passed, even if listed.
    if (isServiceSecret(name)) continue;
    const v = source[name];
    if (v !== undefined) env[name] = v;
  }
  if (env.PATH !== undefined) env.PATH = agentPath(env.PATH);
  return env;
}
