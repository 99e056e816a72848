// Claude Code's `--output-format stream-json --verbose` (checked with 2.1.331): one
// JSON object per line. `system`/`init` opens the session (cwd, model), `assistant`
// carries the model's content blocks (text, tool_use), `user` the tool results that
// went back (is_error set when a command failed, its text then starting "Exit code
// N"), and `result` ends it with the final message in `result` (or `is_error` and
// a subtype such as error_max_turns). Usage: each `assistant` event carries its
// message's `usage` (repeated on every content block of one message, and counted
// when the message starts, so its output tokens are low), summed over messages as a
// running figure; the `result`'s `usage` and `total_cost_usd` are the session's
// totals and replace it.
import { addUsage, costUsd, tokenCount, type JobUsage } from '../usage.js';
import { arr, fmt, messageLines, obj, oneLine, relativePath, str, type EventParser } from './format.js';

/**
 * Anthropic's `usage`: `input_tokens` leaves out the prompt tokens read from or written
 * to the cache, which are counted here as input all the same.
 */
export function claudeUsage(u: Record<string, unknown> | null, cost?: unknown): JobUsage | null {
  const input = tokenCount(u?.input_tokens);
  const output = tokenCount(u?.output_tokens);
  if (input === null || output === null) return null;
  const cached = (tokenCount(u?.cache_creation_input_tokens) ?? 0) + (tokenCount(u?.cache_read_input_tokens) ?? 0);
  const usd = costUsd(cost);
  return { inputTokens: input + cached, outputTokens: output, ...(usd !== null ? { costUsd: usd } : {}) };
}

/** What a tool call did, in words: "$ npm test", "wrote src/a.ts". */
function describe(name: string, input: Record<string, unknown>, cwd: string | null): string {
  const path = (key: string) => relativePath(str(input[key]) ?? '?', cwd);
  switch (name) {
    case 'Bash':
      return `$ ${str(input.command) ?? '?'}`;
    case 'Write':
      return `wrote ${path('file_path')}`;
    case 'Edit':
    case 'MultiEdit':
      return `edited ${path('file_path')}`;
    case 'NotebookEdit':
      return `edited ${path('notebook_path')}`;
    case 'Read':
      return `read ${path('file_path')}`;
    case 'Glob':
    case 'Grep':
      return `${name.toLowerCase()} ${str(input.pattern) ?? '?'}`;
    case 'TodoWrite':
      return `updated its to-do list (${arr(input.todos).length} items)`;
    case 'WebFetch':
      return `fetched ${str(input.url) ?? '?'}`;
    case 'WebSearch':
      return `searched the web for ${str(input.query) ?? '?'}`;
    case 'Task':
    case 'Agent':
      return `started a sub-agent: ${str(input.description) ?? ''}`;
    default:
      return `${name} ${oneLine(JSON.stringify(input), 120)}`;
  }
}

/** A tool result's text: a string, or text blocks. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return arr(content)
    .map((b) => str(obj(b)?.text) ?? '')
    .join('\n');
}

export function claudeParser(): EventParser {
  let cwd: string | null = null;
  let lastText: string | null = null;
  let final: string | null = null;
  let error: string | null = null;
  /** tool_use id → the tool's name, to read its result. */
  const tools = new Map<string, string>();
  /** Message id → its usage as last reported, since the last result. */
  const messages = new Map<string, JobUsage>();
  let anonymous = 0;
  /** The last result's totals. */
  let totals: JobUsage | null = null;

  return {
    event(e) {
      const type = str(e.type);
      if (type === 'system') {
        if (e.subtype !== 'init') return [];
        cwd = str(e.cwd);
        return [fmt.note(`Claude Code · model ${str(e.model) ?? '?'} · permission mode ${str(e.permissionMode) ?? '?'}`)];
      }
      if (type === 'assistant') {
        const message = obj(e.message);
        const used = claudeUsage(obj(message?.usage));
        if (used) messages.set(str(message?.id) ?? `#${anonymous++}`, used);
        const lines: string[] = [];
        for (const block of arr(message?.content)) {
          const b = obj(block);
          if (b?.type === 'text' && str(b.text)?.trim()) {
            const text = str(b.text) ?? '';
            // An API error Claude Code words as a message is not what the agent did: it stays out of the summary.
            if (e.is_api_error_message !== true) lastText = text;
            lines.push(...messageLines(text));
          } else if (b?.type === 'tool_use') {
            const name = str(b.name) ?? '?';
            const id = str(b.id);
            if (id) tools.set(id, name);
            lines.push(fmt.action(describe(name, obj(b.input) ?? {}, cwd)));
          }
        }
        return lines;
      }
      if (type === 'user') {
        const lines: string[] = [];
        for (const block of arr(obj(e.message)?.content)) {
          const b = obj(block);
          if (b?.type !== 'tool_result') continue;
          const name = tools.get(str(b.tool_use_id) ?? '') ?? '';
          const text = resultText(b.content);
          const failed = b.is_error === true;
          if (name === 'Bash') {
            const code = failed ? /^Exit code (\d+)/.exec(text)?.[1] : '0';
            lines.push(
              failed ? fmt.failed(code ? `exit ${code}` : oneLine(text)) : fmt.ok('exit 0'),
              ...fmt.output(failed && code ? text.replace(/^Exit code \d+\n?/, '') : text),
            );
          } else if (failed) lines.push(fmt.failed(text));
        }
        return lines;
      }
      if (type === 'result') {
        const used = claudeUsage(obj(e.usage), e.total_cost_usd);
        if (used) {
          totals = used;
          messages.clear();
        }
        const result = str(e.result);
        const turns = typeof e.num_turns === 'number' ? `${e.num_turns} turns` : '';
        const seconds = typeof e.duration_ms === 'number' ? `${(e.duration_ms / 1000).toFixed(1)} s` : '';
        if (e.is_error === true || (typeof e.subtype === 'string' && e.subtype !== 'success')) {
          error = result?.trim() ? result : (str(e.subtype) ?? 'failed');
          return [fmt.problem(`Claude Code stopped: ${error}`)];
        }
        final = result;
        return [fmt.note(`Claude Code finished${turns || seconds ? ` (${[turns, seconds].filter(Boolean).join(', ')})` : ''}`)];
      }
      // Partial messages, hooks and events of later versions: nothing to translate.
      return type === 'stream_event' || type === 'rate_limit_event' ? [] : null;
    },
    summary: () => (final?.trim() ? final : lastText),
    error: () => error,
    usage() {
      const running = [...messages.values()];
      const first = totals ?? running.shift() ?? null;
      return first ? running.reduce(addUsage, first) : null;
    },
  };
}
