// Codex's `codex exec --json` (checked with 0.169.0): one JSON event per line.
// `thread.started`, `turn.started`/`turn.completed`/`turn.failed`, a top-level
// `error` (a retry, a lost stream), and `item.started`/`item.updated`/
// `item.completed` whose `item` is a command_execution (command, exit_code,
// aggregated_output), an agent_message (text), a file_change (changes: path and
// kind), a reasoning, a todo_list, an mcp_tool_call, a web_search or an error (a
// warning of Codex's own). Usage: `turn.completed` carries the thread's token totals
// so far (Codex fills it from its cumulative `total_token_usage`, not the turn's
// share), so the last one is the run's; there is no cost, and no figure before a turn
// ends (`codex exec` runs one turn).
import { tokenCount, type JobUsage } from '../usage.js';
import { arr, fmt, messageLines, obj, str, type EventParser } from './format.js';

/** OpenAI's `usage`: `input_tokens` already includes `cached_input_tokens`, and `output_tokens` the reasoning. */
export function codexUsage(u: Record<string, unknown> | null): JobUsage | null {
  const input = tokenCount(u?.input_tokens);
  const output = tokenCount(u?.output_tokens);
  return input === null || output === null ? null : { inputTokens: input, outputTokens: output };
}

/** `/bin/bash -c 'npm test'` → `npm test`: the wrapper Codex adds is noise to a reader. */
function command(raw: string): string {
  const single = /^\/bin\/(?:ba)?sh -l?c '([^']*)'$/.exec(raw)?.[1];
  if (single !== undefined) return single;
  const double = /^\/bin\/(?:ba)?sh -l?c "((?:[^"\\]|\\.)*)"$/.exec(raw)?.[1];
  return double !== undefined ? double.replace(/\\(.)/g, '$1') : raw;
}

const CHANGE: Record<string, string> = { add: 'added', update: 'edited', delete: 'deleted' };

export function codexParser(): EventParser {
  let final: string | null = null;
  let error: string | null = null;
  let usage: JobUsage | null = null;

  const item = (phase: 'started' | 'completed', it: Record<string, unknown>): string[] => {
    const type = str(it.type);
    if (type === 'command_execution') {
      const cmd = command(str(it.command) ?? '?');
      if (phase === 'started') return [fmt.action(`$ ${cmd}`)];
      const code = typeof it.exit_code === 'number' ? it.exit_code : null;
      const out = fmt.output(str(it.aggregated_output) ?? '');
      return [code === 0 ? fmt.ok('exit 0') : fmt.failed(code === null ? `${str(it.status) ?? 'ended'}` : `exit ${code}`), ...out];
    }
    if (phase === 'started') return [];
    switch (type) {
      case 'agent_message': {
        final = str(it.text);
        return final?.trim() ? messageLines(final) : [];
      }
      case 'file_change':
        return arr(it.changes).map((c) => fmt.action(`${CHANGE[str(obj(c)?.kind) ?? ''] ?? 'changed'} ${str(obj(c)?.path) ?? '?'}`));
      case 'mcp_tool_call':
        return [fmt.action(`${str(it.server) ?? '?'}/${str(it.tool) ?? '?'} (${str(it.status) ?? '?'})`)];
      case 'web_search':
        return [fmt.action(`searched the web for ${str(it.query) ?? '?'}`)];
      case 'todo_list':
        return [fmt.action(`updated its to-do list (${arr(it.items).length} items)`)];
      case 'error':
        return [fmt.note(`codex: ${str(it.message) ?? '?'}`)];
      default:
        return []; // reasoning, and kinds of later versions
    }
  };

  return {
    event(e) {
      switch (str(e.type)) {
        case 'thread.started':
          return [fmt.note(`Codex · thread ${str(e.thread_id) ?? '?'}`)];
        case 'turn.completed':
          usage = codexUsage(obj(e.usage)) ?? usage;
          return [];
        case 'turn.started':
        case 'item.updated':
          return [];
        case 'turn.failed':
          error = str(obj(e.error)?.message) ?? 'the turn failed';
          return [fmt.problem(`Codex: ${error}`)];
        case 'error':
          error = str(e.message) ?? 'error';
          return [fmt.problem(`Codex: ${error}`)];
        case 'item.started':
        case 'item.completed': {
          const it = obj(e.item);
          return it ? item(e.type === 'item.started' ? 'started' : 'completed', it) : null;
        }
        default:
          return null;
      }
    },
    summary: () => final,
    error: () => error,
    usage: () => usage,
  };
}
