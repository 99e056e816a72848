// Gemini CLI's `--output-format stream-json` (checked with 0.61.0; event types as
// its headless documentation lists them): `init` (session_id, model), `message`
// (role user or assistant; the assistant's text arrives in `delta` pieces),
// `tool_use` (tool_name, tool_id, parameters), `tool_result` (tool_id, status
// success or error, output, error.message), `error` (a warning or a system error,
// with severity) and `result` (status, error, stats). The assistant's pieces are
// held until something else happens, so that the terminal shows whole lines.
// Usage: only the `result`'s `stats`, for the whole run (its other events carry none).
import { addUsage, tokenCount, type JobUsage } from '../usage.js';
import { fmt, messageLines, obj, oneLine, str, type EventParser } from './format.js';

/**
 * Gemini CLI's `stats` (its totals, else the sum of `models`): `input_tokens` is the whole
 * prompt, cached part included (`input` is the uncached part); `output_tokens` the
 * candidates'. No cost.
 */
export function geminiUsage(stats: Record<string, unknown> | null): JobUsage | null {
  const of = (s: Record<string, unknown> | null): JobUsage | null => {
    const input = tokenCount(s?.input_tokens);
    const output = tokenCount(s?.output_tokens);
    return input === null || output === null ? null : { inputTokens: input, outputTokens: output };
  };
  const total = of(stats);
  if (total) return total;
  const models = Object.values(obj(stats?.models) ?? {}).map((m) => of(obj(m)));
  if (!models.length || models.some((m) => m === null)) return null; // a partial sum would read as the whole
  return (models as JobUsage[]).reduce(addUsage);
}

function describe(name: string, p: Record<string, unknown>): string {
  const path = (...keys: string[]) => keys.map((k) => str(p[k])).find(Boolean) ?? '?';
  switch (name) {
    case 'run_shell_command':
      return `$ ${str(p.command) ?? '?'}`;
    case 'write_file':
      return `wrote ${path('file_path')}`;
    case 'replace':
    case 'edit':
      return `edited ${path('file_path')}`;
    case 'read_file':
    case 'read_many_files':
      return `read ${path('file_path', 'absolute_path', 'paths')}`;
    case 'list_directory':
      return `listed ${path('dir_path', 'path')}`;
    case 'glob':
    case 'grep_search':
    case 'search_file_content':
      return `${name === 'glob' ? 'glob' : 'grep'} ${str(p.pattern) ?? '?'}`;
    case 'google_web_search':
      return `searched the web for ${str(p.query) ?? '?'}`;
    case 'web_fetch':
      return `fetched ${str(p.url) ?? str(p.prompt) ?? '?'}`;
    default:
      return `${name} ${oneLine(JSON.stringify(p), 120)}`;
  }
}

const KNOWN = new Set(['init', 'tool_use', 'tool_result', 'error', 'result']);

export function geminiParser(): EventParser {
  let pending = '';
  let last: string | null = null;
  let error: string | null = null;
  let usage: JobUsage | null = null;
  const tools = new Map<string, string>();

  /** The assistant's message so far, as lines; it becomes the last thing it said. */
  const flush = (): string[] => {
    if (!pending.trim()) return [];
    last = pending;
    pending = '';
    return messageLines(last);
  };

  return {
    event(e) {
      const type = str(e.type);
      if (type === 'message') {
        if (e.role !== 'assistant') return [];
        const content = str(e.content) ?? '';
        // A piece of the message being written, or a whole one (delta absent).
        if (e.delta === true) {
          pending += content;
          return [];
        }
        pending += content;
        return flush();
      }
      // Not an event of this stream: it passes through; a message being written stays held.
      if (!type || !KNOWN.has(type)) return null;
      const held = flush();
      switch (type) {
        case 'init':
          return [...held, fmt.note(`Gemini CLI · model ${str(e.model) ?? '?'} · session ${str(e.session_id) ?? '?'}`)];
        case 'tool_use': {
          const name = str(e.tool_name) ?? '?';
          const id = str(e.tool_id);
          if (id) tools.set(id, name);
          return [...held, fmt.action(describe(name, obj(e.parameters) ?? {}))];
        }
        case 'tool_result': {
          const name = tools.get(str(e.tool_id) ?? '') ?? '';
          if (e.status === 'error') return [...held, fmt.failed(str(obj(e.error)?.message) ?? str(e.output) ?? 'failed')];
          // Its stream does not say a command's exit code: only that it ran, and what it printed.
          return [...held, ...(name === 'run_shell_command' ? [fmt.ran('ran'), ...fmt.output(str(e.output) ?? '')] : [])];
        }
        case 'error': {
          const message = str(e.message) ?? 'error';
          if (e.severity !== 'warning') error = message;
          return [...held, e.severity === 'warning' ? fmt.note(`gemini: ${message}`) : fmt.problem(`Gemini CLI: ${message}`)];
        }
        case 'result': {
          const stats = obj(e.stats);
          usage = geminiUsage(stats) ?? usage;
          if (e.status !== 'success') {
            error = str(obj(e.error)?.message) ?? error ?? 'the run failed';
            return [...held, fmt.problem(`Gemini CLI stopped: ${error}`)];
          }
          const calls = typeof stats?.tool_calls === 'number' ? `${stats.tool_calls} tool calls` : '';
          const seconds = typeof stats?.duration_ms === 'number' ? `${(stats.duration_ms / 1000).toFixed(1)} s` : '';
          return [...held, fmt.note(`Gemini CLI finished${calls || seconds ? ` (${[calls, seconds].filter(Boolean).join(', ')})` : ''}`)];
        }
        default:
          return held;
      }
    },
    end: flush,
    summary: () => (pending.trim() ? pending : last),
    error: () => error,
    usage: () => usage,
  };
}
