// What the scripted model servers (one per model API a CLI speaks) share: a loopback
// server, the requests it received as each server records them, where a CLI points
// its base URL, and close. Each subclass answers in its own API's words.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopbackServer.js';

export interface RecordedModelRequest {
  method: string;
  path: string;
  /** The answer's status: 200 for a streamed turn. */
  status: number;
  /** The request headers, without the ones that carry the key. */
  headers: Record<string, string | string[] | undefined>;
  /** Whether the key was the expected one, sent the way the API expects it. */
  authorized: boolean;
  /** The parsed JSON body (or the raw text when it was not JSON). */
  body: unknown;
  /** Which script step answered, when one did. */
  step?: number;
}

export abstract class ScriptedModelServer<Rec extends RecordedModelRequest, Opts extends { port?: number }> {
  readonly requests: Rec[] = [];
  private http: LoopbackServer | undefined;

  protected constructor(protected readonly opts: Opts) {}

  /** Listens on `opts.port` (any free port when unset); `errorBody(message)` is a 500 in the API's own shape. */
  protected async listen(errorBody: (message: string) => unknown): Promise<this> {
    this.http = await LoopbackServer.start(this.opts.port, (req, res, body) => this.handle(req, res, body), errorBody);
    return this;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;

  get port(): number {
    return this.server.port;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return this.server.origin;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private get server(): LoopbackServer {
    if (!this.http) throw new Error('the model server is not listening yet');
    return this.http;
  }
}
