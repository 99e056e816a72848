// What every scripted model server shares: an HTTP server on loopback whose handler
// gets the request body already read (parsed when it is JSON), a 500 in the API's own
// error shape when the handler throws, and a close that does not wait for idle
// keep-alive connections of the CLI under test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;

export class LoopbackServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** `errorBody(message)`: how the imitated API words an internal error. */
  static async start(port: number | undefined, handle: Handler, errorBody: (message: string) => unknown): Promise<LoopbackServer> {
    const server = createServer((req, res) => {
      readBody(req)
        .then((body) => handle(req, res, body))
        .catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(errorBody(String(e))));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port ?? 0, '127.0.0.1', () => resolve());
    });
    return new LoopbackServer(server, (server.address() as AddressInfo).port);
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The body as JSON when it parses, else its text (null when empty). */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
