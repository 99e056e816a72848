// A scripted model server on loopback that speaks the OpenAI Responses API the
// way the Codex CLI uses it: `POST /v1/responses` with `stream: true`, answered
// with Server-Sent Events (`response.created`, `response.output_item.added`,
// `response.output_text.delta`, `response.output_item.done`,
// `response.completed`). The script is a list of steps; a request gets the step
// whose index is the number of tool results already in its `input`, so a retried
// request gets the same step again. Every request is recorded (the authorization
// header only as "was it the expected key"); unknown paths get 404 and are
// recorded too.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ScriptedModelServer, type RecordedModelRequest } from './modelServer.js';

/** One model turn: a call of Codex's `exec_command` tool, or a final assistant message. */
export type ScriptedStep = { kind: 'exec'; cmd: string } | { kind: 'message'; text: string };

/** `authorized`: whether `authorization` was `Bearer <the expected key>`. */
export interface RecordedRequest extends RecordedModelRequest {
  /** The SSE event types sent back. */
  events: string[];
}

export interface ResponsesServerOptions {
  steps: ScriptedStep[];
  /** The key the client must send as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** 0 (default) for any free port. */
  port?: number;
}

interface ResponsesBody {
  model?: unknown;
  stream?: unknown;
  input?: unknown;
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

export class ResponsesServer extends ScriptedModelServer<RecordedRequest, ResponsesServerOptions> {
  private seq = 0;

  static start(opts: ResponsesServerOptions): Promise<ResponsesServer> {
    return new ResponsesServer(opts).listen((message) => ({ error: { message } }));
  }

  /** What goes into a provider's `base_url`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const { authorization, ...headers } = req.headers;
    const path = (req.url ?? '').split('?')[0] ?? '';
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path,
      status: 0,
      headers,
      authorized: authorization === `Bearer ${this.opts.apiKey}`,
      body,
      events: [],
    };
    this.requests.push(rec);
    const fail = (status: number, message: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: null } }));
    };

    if (req.method !== 'POST' || path !== '/v1/responses') return fail(404, `no route ${req.method} ${path} in the scripted model server`);
    if (!rec.authorized) return fail(401, 'wrong or missing API key');
    const b = (body && typeof body === 'object' ? body : {}) as ResponsesBody;
    if (b.stream !== true) return fail(400, 'the scripted model server only streams (stream: true)');
    const input = Array.isArray(b.input) ? (b.input as { type?: unknown }[]) : [];
    const stepIndex = input.filter((i) => i?.type === 'function_call_output').length;
    const step = this.opts.steps[stepIndex];
    if (!step) return fail(400, `the script has ${this.opts.steps.length} steps; request ${stepIndex + 1} is past its end`);
    rec.step = stepIndex;
    rec.status = 200;
    this.stream(res, rec, step, typeof b.model === 'string' ? b.model : 'scripted');
  }

  private stream(res: ServerResponse, rec: RecordedRequest, step: ScriptedStep, model: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let eventId = 0;
    const send = (data: { type: string } & Record<string, unknown>) => {
      rec.events.push(data.type);
      res.write(`id: ${++eventId}\nevent: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const n = ++this.seq;
    const responseId = `resp_${n}_${randomUUID().replaceAll('-', '')}`;
    const response = (status: string, output: unknown[]) => ({
      id: responseId,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status,
      model,
      output,
      ...(status === 'completed'
        ? {
            usage: {
              input_tokens: 100,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: 20,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: 120,
            },
          }
        : {}),
    });

    send({ type: 'response.created', response: response('in_progress', []) });
    let item: Record<string, unknown>;
    if (step.kind === 'exec') {
      const base = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'exec_command' };
      send({ type: 'response.output_item.added', output_index: 0, item: { ...base, arguments: '', status: 'in_progress' } });
      item = { ...base, arguments: JSON.stringify({ cmd: step.cmd, login: false }), status: 'completed' };
    } else {
      const base = { type: 'message', id: `msg_${n}`, role: 'assistant' };
      send({ type: 'response.output_item.added', output_index: 0, item: { ...base, status: 'in_progress', content: [] } });
      send({ type: 'response.output_text.delta', item_id: base.id, output_index: 0, content_index: 0, delta: step.text });
      item = { ...base, status: 'completed', content: [{ type: 'output_text', text: step.text, annotations: [] }] };
    }
    send({ type: 'response.output_item.done', output_index: 0, item });
    send({ type: 'response.completed', response: response('completed', [item]) });
    res.end();
  }
}
