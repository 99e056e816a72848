// A scripted model server on loopback that speaks the Gemini API the way Gemini
// CLI uses it with an API key (GOOGLE_GEMINI_BASE_URL): `POST
// /v1beta/models/<model>:streamGenerateContent?alt=sse`, answered with
// Server-Sent Events whose data are GenerateContentResponse chunks, and
// `:generateContent` / `:countTokens` without streaming. A request that offers
// function declarations gets the step whose index is the number of function
// responses already in its contents; one without (the CLI's side questions:
// routing, next speaker, loop checks) gets a small JSON text and leaves the script
// where it is. Every request is recorded; unknown paths get 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ScriptedModelServer, type RecordedModelRequest } from './modelServer.js';

/** One model turn: a call of one of Gemini CLI's tools, or a final message. */
export type GeminiStep = { kind: 'tool'; name: string; args: Record<string, unknown> } | { kind: 'message'; text: string };

/** `authorized`: whether `x-goog-api-key` (or `?key=`) was the expected key. */
export interface RecordedGeminiRequest extends RecordedModelRequest {
  /** Answered with the side-question JSON, outside the script. */
  side?: boolean;
}

export interface GeminiServerOptions {
  steps: GeminiStep[];
  apiKey: string;
  port?: number;
}

interface GenerateBody {
  contents?: unknown;
  tools?: unknown;
}

/** Function responses already in a request's contents: how far the conversation has gone. */
function functionResponses(contents: unknown): number {
  if (!Array.isArray(contents)) return 0;
  let n = 0;
  for (const c of contents as { parts?: unknown }[]) {
    if (Array.isArray(c?.parts)) n += (c.parts as { functionResponse?: unknown }[]).filter((p) => p?.functionResponse).length;
  }
  return n;
}

function offersFunctions(tools: unknown): boolean {
  return (
    Array.isArray(tools) &&
    (tools as { functionDeclarations?: unknown[] }[]).some(
      (t) => Array.isArray(t?.functionDeclarations) && t.functionDeclarations.length > 0,
    )
  );
}

/** The answer to a side question: JSON that the CLI's routing, next-speaker and loop checks all accept. */
const SIDE_ANSWER = JSON.stringify({
  reasoning: 'scripted',
  next_speaker: 'user',
  model_choice: 'flash',
  complexity_reasoning: 'scripted',
  complexity_score: 10,
  unproductive_state_confidence: 0,
  unproductive_state_analysis: 'none',
});

export class GeminiServer extends ScriptedModelServer<RecordedGeminiRequest, GeminiServerOptions> {
  static start(opts: GeminiServerOptions): Promise<GeminiServer> {
    return new GeminiServer(opts).listen((message) => ({ error: { code: 500, message, status: 'INTERNAL' } }));
  }

  /** What goes into GOOGLE_GEMINI_BASE_URL. */
  get baseUrl(): string {
    return this.origin;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const { 'x-goog-api-key': apiKey, ...headers } = req.headers;
    const rec: RecordedGeminiRequest = {
      method: req.method ?? '',
      path: url.pathname,
      status: 0,
      headers,
      authorized: apiKey === this.opts.apiKey || url.searchParams.get('key') === this.opts.apiKey,
      body,
    };
    this.requests.push(rec);
    const reply = (status: number, json: unknown) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const m = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(url.pathname);
    if (req.method !== 'POST' || !m)
      return reply(404, {
        error: { code: 404, message: `no route ${req.method} ${url.pathname} in the scripted model server`, status: 'NOT_FOUND' },
      });
    if (!rec.authorized) return reply(401, { error: { code: 401, message: 'API key not valid', status: 'UNAUTHENTICATED' } });
    if (m[2] === 'countTokens') return reply(200, { totalTokens: 100 });
    const b = (body && typeof body === 'object' ? body : {}) as GenerateBody;
    let step: GeminiStep;
    if (!offersFunctions(b.tools)) {
      rec.side = true;
      step = { kind: 'message', text: SIDE_ANSWER };
    } else {
      const index = functionResponses(b.contents);
      const scripted = this.opts.steps[index];
      if (!scripted)
        return reply(400, {
          error: {
            code: 400,
            message: `the script has ${this.opts.steps.length} steps; request ${index + 1} is past its end`,
            status: 'INVALID_ARGUMENT',
          },
        });
      rec.step = index;
      step = scripted;
    }
    const part = step.kind === 'tool' ? { functionCall: { name: step.name, args: step.args } } : { text: step.text };
    const response = {
      candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, totalTokenCount: 120 },
      modelVersion: m[1],
    };
    if (m[2] === 'generateContent') return reply(200, response);
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`data: ${JSON.stringify(response)}\r\n\r\n`);
    res.end();
  }
}
