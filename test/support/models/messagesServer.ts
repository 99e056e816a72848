// A scripted model server on loopback that speaks the Anthropic Messages API the
// way Claude Code uses it: `POST /v1/messages` with `stream: true`, answered with
// Server-Sent Events (`message_start`, `content_block_start`,
// `content_block_delta` with `text_delta` or `input_json_delta`,
// `content_block_stop`, `message_delta`, `message_stop`). The script is a list of
// steps; a request that offers tools gets the step whose index is the number of
// tool results already in its messages (a retried request gets the same step
// again). A request without tools (Claude's side questions: a title, a command's
// prefix) gets a short text and leaves the script where it is. Every request is
// recorded (the key only as "was it the expected one"); unknown paths get 404.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ScriptedModelServer, type RecordedModelRequest } from './modelServer.js';

/** One model turn: a call of one of Claude's tools, or a final assistant message. */
export type MessagesStep = { kind: 'tool'; name: string; input: Record<string, unknown> } | { kind: 'message'; text: string };

/** `authorized`: whether `x-api-key` (or `Authorization: Bearer`) was the expected key; `step` is absent for a side question or a refusal. */
export interface RecordedMessagesRequest extends RecordedModelRequest {
  /** Answered with the side-question text, outside the script. */
  side?: boolean;
  events: string[];
}

export interface MessagesServerOptions {
  steps: MessagesStep[];
  apiKey: string;
  /** Answer every scripted request with this HTTP status and an API error instead (a failing model). */
  failWith?: { status: number; type: string; message: string };
  port?: number;
}

interface MessagesBody {
  model?: unknown;
  stream?: unknown;
  tools?: unknown;
  messages?: unknown;
}

/** Tool results already in a request's messages: how far the conversation has gone. */
function toolResults(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let n = 0;
  for (const m of messages as { role?: unknown; content?: unknown }[]) {
    if (m?.role !== 'user' || !Array.isArray(m.content)) continue;
    n += (m.content as { type?: unknown }[]).filter((c) => c?.type === 'tool_result').length;
  }
  return n;
}

export class MessagesServer extends ScriptedModelServer<RecordedMessagesRequest, MessagesServerOptions> {
  private seq = 0;

  static start(opts: MessagesServerOptions): Promise<MessagesServer> {
    return new MessagesServer(opts).listen((message) => ({ type: 'error', error: { type: 'api_error', message } }));
  }

  /** What goes into ANTHROPIC_BASE_URL (Claude Code appends /v1/messages). */
  get baseUrl(): string {
    return this.origin;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const { 'x-api-key': apiKey, authorization, ...headers } = req.headers;
    const path = (req.url ?? '').split('?')[0] ?? '';
    const rec: RecordedMessagesRequest = {
      method: req.method ?? '',
      path,
      status: 0,
      headers,
      authorized: apiKey === this.opts.apiKey || authorization === `Bearer ${this.opts.apiKey}`,
      body,
      events: [],
    };
    this.requests.push(rec);
    const fail = (status: number, type: string, message: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID()}` });
      res.end(JSON.stringify({ type: 'error', error: { type, message } }));
    };

    if (req.method !== 'POST' || path !== '/v1/messages')
      return fail(404, 'not_found_error', `no route ${req.method} ${path} in the scripted model server`);
    if (!rec.authorized) return fail(401, 'authentication_error', 'invalid x-api-key');
    if (this.opts.failWith) return fail(this.opts.failWith.status, this.opts.failWith.type, this.opts.failWith.message);
    const b = (body && typeof body === 'object' ? body : {}) as MessagesBody;
    const model = typeof b.model === 'string' ? b.model : 'scripted';
    const offersTools = Array.isArray(b.tools) && b.tools.length > 0;
    let step: MessagesStep;
    if (!offersTools) {
      rec.side = true;
      step = { kind: 'message', text: 'none' };
    } else {
      const index = toolResults(b.messages);
      const scripted = this.opts.steps[index];
      if (!scripted)
        return fail(400, 'invalid_request_error', `the script has ${this.opts.steps.length} steps; request ${index + 1} is past its end`);
      rec.step = index;
      step = scripted;
    }
    rec.status = 200;
    if (b.stream === true) this.stream(res, rec, step, model);
    else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.message(step, model)));
    }
  }

  private message(step: MessagesStep, model: string): Record<string, unknown> {
    const n = ++this.seq;
    const content =
      step.kind === 'tool'
        ? [{ type: 'tool_use', id: `toolu_${n}`, name: step.name, input: step.input }]
        : [{ type: 'text', text: step.text }];
    return {
      id: `msg_${n}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: step.kind === 'tool' ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 20 },
    };
  }

  private stream(res: ServerResponse, rec: RecordedMessagesRequest, step: MessagesStep, model: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'request-id': `req_${randomUUID()}`,
    });
    const send = (data: { type: string } & Record<string, unknown>) => {
      rec.events.push(data.type);
      res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const whole = this.message(step, model);
    send({ type: 'message_start', message: { ...whole, content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } } });
    if (step.kind === 'tool') {
      const id = (whole.content as { id: string }[])[0]?.id;
      send({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id, name: step.name, input: {} } });
      const json = JSON.stringify(step.input);
      // In two pieces, as a real stream splits it: the client must put the JSON together.
      const half = Math.floor(json.length / 2);
      send({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } });
      send({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(half) } });
    } else {
      send({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: step.text } });
    }
    send({ type: 'content_block_stop', index: 0 });
    send({ type: 'message_delta', delta: { stop_reason: whole.stop_reason, stop_sequence: null }, usage: { output_tokens: 20 } });
    send({ type: 'message_stop' });
    res.end();
  }
}
