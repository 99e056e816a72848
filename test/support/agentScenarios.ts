// One scripted task for each real agent CLI the tests run (Codex, Claude Code,
// Gemini CLI, opencode): the model server on loopback that speaks its API, the turns it
// plays (read TASK.md, run a command that fails, write the file TASK.md names,
// then a final message), the agent's configuration in the template HOME, and the
// variables the worker and the agent need. Used by the real-agent integration test
// (through the worker) and by the recorder of the parsers' fixtures (directly).
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GeminiServer } from './models/geminiServer.js';
import { MessagesServer } from './models/messagesServer.js';
import { ResponsesServer, shellQuote } from './models/responsesServer.js';

export const REAL_AGENTS = ['codex', 'claude', 'gemini', 'opencode'] as const;
export type RealAgent = (typeof REAL_AGENTS)[number];

/** The variable Codex's loopback provider reads its key from (its env_key): not a preset's, so KIRO_AGENT_KEY_VAR names it. */
export const CODEX_KEY_VAR = 'SCRIPTED_MODEL_API_KEY';
export const MODEL_KEY = 'sk-scripted-test-key-0123456789';
export const CODEX_MODEL = 'scripted-codex-model';
const CODEX_PROVIDER = 'kiro_scripted';

export interface Task {
  fileName: string;
  fileContent: string;
}

/** The task the parsers' fixtures show (the integration test asks for another file, so neither can pass on the other's account). */
export const FIXTURE_TASK: Task = { fileName: 'notes.txt', fileContent: 'written by the agent' };

/** The model's final message: two lines, so that a summary is seen to keep its line breaks. */
export function finalMessage(task: Task): string {
  return `Created ${task.fileName} as TASK.md asked.\nIt holds one line: ${task.fileContent}`;
}

/** The command of the first turn: what TASK.md says, and where the agent runs (HOME, its configuration). */
function readCommand(agent: RealAgent): string {
  const config = { codex: '.codex/config.toml', gemini: '.gemini/settings.json', opencode: '.config/opencode/opencode.json', claude: '' }[
    agent
  ];
  return `cat TASK.md && echo "HOME=$HOME"${config ? ` && ls "$HOME/${config}"` : ''}`;
}

/** The second turn's command, which fails (exit 2): the terminal shows it failed, and the agent carries on. */
export const FAILING_COMMAND = 'ls no-such-file';

/** What a request of the agent looked like, whichever API it spoke. */
export interface ModelRequest {
  method: string;
  path: string;
  status: number;
  authorized: boolean;
  /** The script's step it got; undefined for a side question (a title, a route) or a refusal. */
  step: number | undefined;
  model: unknown;
  userAgent: string | undefined;
  /** The last tool result the agent sent back in this request (what its last command printed). */
  toolOutput: string | null;
}

export interface ScriptedModel {
  /** The base URL the agent is pointed at. */
  baseUrl: string;
  requests(): ModelRequest[];
  close(): Promise<void>;
}

const lastOf = <T>(xs: T[]): T | null => (xs.length ? (xs[xs.length - 1] ?? null) : null);
const ua = (h: Record<string, string | string[] | undefined>) => {
  const v = h['user-agent'];
  return Array.isArray(v) ? v.join(', ') : v;
};
const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Starts the agent's scripted model; `fail` makes every turn an API error (the agent's failure transcript). */
export async function startModel(agent: RealAgent, task: Task, fail = false): Promise<ScriptedModel> {
  const done = finalMessage(task);
  if (agent === 'codex') {
    const server = await ResponsesServer.start({
      apiKey: fail ? `${MODEL_KEY}-not-this-one` : MODEL_KEY,
      steps: [
        { kind: 'exec', cmd: readCommand(agent) },
        { kind: 'exec', cmd: FAILING_COMMAND },
        { kind: 'exec', cmd: `printf '%s\\n' ${shellQuote(task.fileContent)} > ${shellQuote(task.fileName)}` },
        { kind: 'message', text: done },
      ],
    });
    return {
      baseUrl: server.baseUrl,
      requests: () =>
        server.requests.map((r) => {
          const b = (r.body && typeof r.body === 'object' ? r.body : {}) as {
            model?: unknown;
            input?: { type?: string; output?: unknown }[];
          };
          const outputs = (b.input ?? []).filter((i) => i.type === 'function_call_output').map((i) => text(i.output));
          return {
            method: r.method,
            path: r.path,
            status: r.status,
            authorized: r.authorized,
            step: r.step,
            model: b.model,
            userAgent: ua(r.headers),
            toolOutput: lastOf(outputs),
          };
        }),
      close: () => server.close(),
    };
  }
  if (agent === 'claude' || agent === 'opencode') {
    // opencode reaches the same Messages API through its bundled Anthropic provider; its tools are named in lower case.
    const [bash, write, path] = agent === 'claude' ? ['Bash', 'Write', 'file_path'] : ['bash', 'write', 'filePath'];
    const server = await MessagesServer.start({
      apiKey: MODEL_KEY,
      ...(fail
        ? { failWith: { status: 400, type: 'invalid_request_error', message: 'scripted refusal: this model is not available' } }
        : {}),
      steps: [
        { kind: 'tool', name: bash, input: { command: readCommand(agent), description: 'Read the task' } },
        { kind: 'tool', name: bash, input: { command: FAILING_COMMAND, description: 'Look for a file that is not there' } },
        { kind: 'tool', name: write, input: { [path]: task.fileName, content: `${task.fileContent}\n` } },
        { kind: 'message', text: done },
      ],
    });
    return {
      baseUrl: server.baseUrl,
      requests: () =>
        server.requests.map((r) => {
          const b = (r.body && typeof r.body === 'object' ? r.body : {}) as {
            model?: unknown;
            messages?: { role?: string; content?: unknown }[];
          };
          const results = (b.messages ?? [])
            .flatMap((m) => (Array.isArray(m.content) ? (m.content as { type?: string; content?: unknown }[]) : []))
            .filter((c) => c.type === 'tool_result')
            .map((c) =>
              Array.isArray(c.content) ? (c.content as { text?: string }[]).map((t) => t.text ?? '').join('\n') : text(c.content),
            );
          return {
            method: r.method,
            path: r.path,
            status: r.status,
            authorized: r.authorized,
            step: r.step,
            model: b.model,
            userAgent: ua(r.headers),
            toolOutput: lastOf(results),
          };
        }),
      close: () => server.close(),
    };
  }
  const server = await GeminiServer.start({
    apiKey: fail ? `${MODEL_KEY}-not-this-one` : MODEL_KEY,
    steps: [
      { kind: 'tool', name: 'run_shell_command', args: { command: readCommand(agent), description: 'Read the task' } },
      { kind: 'tool', name: 'run_shell_command', args: { command: FAILING_COMMAND, description: 'Look for a file that is not there' } },
      { kind: 'tool', name: 'write_file', args: { file_path: task.fileName, content: `${task.fileContent}\n` } },
      { kind: 'message', text: done },
    ],
  });
  return {
    baseUrl: server.baseUrl,
    requests: () =>
      server.requests.map((r) => {
        const b = (r.body && typeof r.body === 'object' ? r.body : {}) as {
          contents?: { parts?: { functionResponse?: { response?: unknown } }[] }[];
        };
        const results = (b.contents ?? [])
          .flatMap((c) => c.parts ?? [])
          .filter((p) => p.functionResponse)
          .map((p) => text(p.functionResponse?.response));
        const model = /models\/([^/:]+):/.exec(r.path)?.[1];
        return {
          method: r.method,
          path: r.path,
          status: r.status,
          authorized: r.authorized,
          step: r.step,
          model,
          userAgent: ua(r.headers),
          toolOutput: lastOf(results),
        };
      }),
    close: () => server.close(),
  };
}

/** Codex's whole configuration, as it sits in the HOME template. Update checks, analytics, feedback and otel are the preset's flags. */
export function codexConfigToml(baseUrl: string): string {
  return [
    `model = "${CODEX_MODEL}"`,
    `model_provider = "${CODEX_PROVIDER}"`,
    '',
    `[model_providers.${CODEX_PROVIDER}]`,
    'name = "Kiro scripted model"',
    `base_url = "${baseUrl}"`,
    `env_key = "${CODEX_KEY_VAR}"`,
    'wire_api = "responses"',
    '',
  ].join('\n');
}

/**
 * Gemini CLI's settings, as they sit in the HOME template: the key from GEMINI_API_KEY
 * even though GOOGLE_GEMINI_BASE_URL is set (which alone would make it expect a gateway),
 * and no usage statistics, update checks or telemetry, which are settings only.
 */
export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  privacy: { usageStatisticsEnabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  telemetry: { enabled: false },
};

/** opencode's configuration, as it sits in the HOME template: its bundled Anthropic provider pointed at loopback. */
export function opencodeConfig(baseUrl: string): Record<string, unknown> {
  return {
    $schema: 'https://opencode.ai/config.json',
    model: 'anthropic/claude-sonnet-4-5',
    provider: { anthropic: { options: { baseURL: `${baseUrl}/v1` } } },
  };
}

/**
 * Writes the agent's configuration into a HOME template (Claude Code needs none: its
 * variables say it all). `bin` is the installed CLI: opencode's configuration folder
 * gets the plugin SDK scripts/agents/install.sh put beside it, which opencode would
 * otherwise fetch from the npm registry at every start.
 */
export async function writeHomeTemplate(agent: RealAgent, baseUrl: string, dir: string, bin: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (agent === 'opencode') {
    const config = join(dir, '.config', 'opencode');
    await cp(join(dirname(bin), '..', '..', 'config'), config, { recursive: true });
    await writeFile(join(config, 'opencode.json'), `${JSON.stringify(opencodeConfig(baseUrl), null, 2)}\n`);
  } else if (agent === 'codex') {
    await mkdir(join(dir, '.codex'), { recursive: true });
    await writeFile(join(dir, '.codex', 'config.toml'), codexConfigToml(baseUrl));
  } else if (agent === 'gemini') {
    await mkdir(join(dir, '.gemini'), { recursive: true });
    await writeFile(join(dir, '.gemini', 'settings.json'), `${JSON.stringify(GEMINI_SETTINGS, null, 2)}\n`);
  }
}

/** The service's environment for the agent (the allow-list draws from it): its key, and where its model is. */
export function agentVars(agent: RealAgent, baseUrl: string): Record<string, string> {
  if (agent === 'codex') return { [CODEX_KEY_VAR]: MODEL_KEY };
  if (agent === 'claude') return { ANTHROPIC_API_KEY: MODEL_KEY, ANTHROPIC_BASE_URL: baseUrl };
  if (agent === 'opencode') return { ANTHROPIC_API_KEY: MODEL_KEY };
  return { GEMINI_API_KEY: MODEL_KEY, GOOGLE_GEMINI_BASE_URL: baseUrl };
}

/** The worker's own variables for the agent: its preset, and for Codex the variable its provider reads. */
export function workerVars(agent: RealAgent): Record<string, string> {
  return { KIRO_AGENT: agent, ...(agent === 'codex' ? { KIRO_AGENT_KEY_VAR: CODEX_KEY_VAR } : {}) };
}
