// The egress proxy every sandboxed agent's network goes through (KIRO_AGENT_NETWORK
// `allow:` and its default, and `open`): an HTTP proxy on a Unix socket that tunnels
// CONNECT and forwards absolute-form HTTP, judging every resolved address (no DNS
// rebinding). Why it is hand-written, and how: docs/adr/0001-egress-proxy.md.
import http from 'node:http';
import type net from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { EgressRules, parseHostList, type BlockReason, type ForbiddenTargets, type Lookup } from './egressPolicy.js';
import { connectAny, connectTarget, endToEnd, errorCode, refusal, refuseTunnel, removeStaleSocket } from './proxyWire.js';

export type { BlockReason } from './egressPolicy.js';

export interface EgressLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface EgressProxy {
  socketPath: string;
  close(): Promise<void>;
}

/** One refused request, as the job records it. */
export interface BlockedRequest {
  host: string;
  port: number;
  /** When (ISO 8601). */
  at: string;
  reason: BlockReason;
}

export interface EgressProxyOptions {
  socketPath: string;
  /** `allow` (the default): only the listed hosts. `open`: any public address, and the listed hosts wherever they are. */
  mode?: 'allow' | 'open';
  /** Allow-list entries (`host`, `host:port`, `[v6]`, `[v6]:port`). */
  allow: readonly string[];
  /** Refused in every mode; without it, link-local addresses still are. */
  forbidden?: ForbiddenTargets;
  /** Resolves names (the system resolver by default); tests pass their own. */
  lookup?: Lookup;
  /** Told of every refused request (the job's record, its terminal note). */
  onBlocked?: (b: BlockedRequest) => void;
  log?: EgressLog;
}

/**
 * The hosts of KIRO_AGENT_NETWORK's `allow:` list (the text after `allow:`),
 * comma-separated: `host`, `host:port`, `[ipv6]`, `[ipv6]:port` or a named set
 * (`@registries`). Returns them normalised (lower-cased); throws an Error saying which
 * entry is wrong and why.
 */
export function parseAllowList(spec: string): string[] {
  return parseHostList(spec);
}

type Decision = { ok: true; addresses: string[] } | { ok: false; status: string; body: string };

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const { socketPath, log } = opts;
  const rules = new EgressRules({ mode: opts.mode ?? 'allow', allow: opts.allow, forbidden: opts.forbidden, lookup: opts.lookup });
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  /** Whether `host`:`port` may be reached, and at which addresses; a refusal is logged and told. */
  const decide = async (host: string, port: number, method: string): Promise<Decision> => {
    const d = await rules.decide(host, port);
    if (d.ok) return d;
    if ('unresolved' in d) {
      log?.warn({ host, port, code: d.unresolved }, 'egress lookup failed');
      return { ok: false, status: '502 Bad Gateway', body: `cannot resolve ${host}: ${d.unresolved}\n` };
    }
    log?.info({ host, port, method, reason: d.reason, ...(d.address ? { address: d.address } : {}) }, 'egress refused');
    opts.onBlocked?.({ host, port, at: new Date().toISOString(), reason: d.reason });
    return { ok: false, status: '403 Forbidden', body: refusal(host, port, d.reason, d.address) };
  };

  // No overall request deadline (Node's default is 300 s): a large upload through the proxy
  // may take longer; the headers deadline still bounds a client that never finishes its request.
  const server = http.createServer({ requestTimeout: 0 });
  server.on('connection', track);
  server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => socket.destroy());
    refuseTunnel(socket, '501 Not Implemented', 'this proxy does not forward protocol upgrades; use CONNECT\n');
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => client.destroy());
    const target = connectTarget(req.url);
    if (!target) {
      refuseTunnel(client, '400 Bad Request', 'CONNECT needs a host:port target\n');
      return;
    }
    const { host, port } = target;
    let upstream: net.Socket | null = null;
    let gone = false;
    // A client gone before the tunnel was up takes the attempt with it; after that, only a
    // failure tears the other side down (a clean end travels through pipe(), and destroying
    // on a clean close would drop bytes still buffered for it).
    client.on('close', (hadError) => {
      gone = true;
      if (hadError || !upstream) upstream?.destroy();
    });
    client.on('error', () => upstream?.destroy());
    void (async () => {
      const d = await decide(host, port, 'CONNECT');
      if (gone) return;
      if (!d.ok) {
        refuseTunnel(client, d.status, d.body);
        return;
      }
      let up: net.Socket;
      try {
        up = await connectAny(d.addresses, port, track);
      } catch (e) {
        log?.warn({ host, port, code: errorCode(e) }, 'egress upstream connect failed');
        if (!gone) refuseTunnel(client, '502 Bad Gateway', `cannot reach ${host}:${port}: ${errorCode(e)}\n`);
        return;
      }
      if (gone) {
        up.destroy();
        return;
      }
      upstream = up;
      up.on('error', () => {
        client.destroy();
        up.destroy();
      });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      // pipe() ends the other side when one side ends: half-close goes through both ways.
      client.pipe(up);
      up.pipe(client);
    })().catch((e: unknown) => {
      // Nothing above is expected to throw; if it does, this request ends, never the service.
      log?.warn({ host, port, code: errorCode(e) }, 'egress tunnel failed');
      client.destroy();
    });
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const plain = (status: number, body: string): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(body);
    };
    let url: URL;
    try {
      if (!/^http:\/\//i.test(req.url ?? '')) throw new Error('not absolute-form');
      url = new URL(req.url ?? '');
    } catch {
      plain(400, 'this is a forward proxy: send CONNECT host:port, or a request with an absolute http:// URL\n');
      return;
    }
    // URL keeps IPv6 hosts bracketed; the rules hold them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? 80 : Number(url.port);
    // Held until the decision: the body waits in the socket, not in memory.
    req.pause();
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    void (async () => {
      const d = await decide(host, port, req.method ?? 'GET');
      if (clientGone) return;
      if (!d.ok) {
        plain(Number(d.status.slice(0, 3)), d.body);
        return;
      }
      let socket: net.Socket;
      try {
        socket = await connectAny(d.addresses, port, track);
      } catch (e) {
        log?.warn({ host, port, code: errorCode(e) }, 'egress upstream request failed');
        plain(502, `cannot reach ${host}:${port}: ${errorCode(e)}\n`);
        return;
      }
      if (clientGone) {
        socket.destroy();
        return;
      }
      const headers = { ...endToEnd(req.headers), host: url.host };
      // The socket already connected to the address judged above: no second lookup.
      const upstream = http.request({ method: req.method, path: `${url.pathname}${url.search}`, headers, createConnection: () => socket });
      upstream.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      });
      upstream.on('error', (e) => {
        if (clientGone) return;
        log?.warn({ host, port, code: errorCode(e) }, 'egress upstream request failed');
        plain(502, `cannot reach ${host}:${port}: ${errorCode(e)}\n`);
      });
      req.on('error', () => upstream.destroy());
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    })().catch((e: unknown) => {
      log?.warn({ host, port, code: errorCode(e) }, 'egress request failed');
      res.destroy();
    });
  });

  await removeStaleSocket(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log?.warn({ code: errorCode(e) }, 'egress proxy server error'));
  // The sandbox's user namespace maps the agent to the service's own uid on the host: owner-only is enough, and no other local user can use the proxy.
  await chmod(socketPath, 0o600);

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close(): Promise<void> {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        await closed;
        // libuv unlinks a listening socket's path when it closes; this is in case it did not.
        await unlink(socketPath).catch(() => undefined);
      })();
      return closing;
    },
  };
}
