// The egress proxy for `KIRO_AGENT_NETWORK=allow:<host>[,<host>…]`: an HTTP
// proxy on a Unix socket (bound into the sandbox, where net-bridge exposes it
// on the sandbox's own loopback) that tunnels CONNECT and forwards absolute-form
// HTTP requests to the listed hosts only, and refuses everything else.
//
// Built on node:http + node:net rather than a library, after looking at the
// npm ones: `proxy` (TooTallNate) has a single `authenticate` hook whose only
// refusal is 407 Proxy Authentication Required (it asks the client for
// credentials instead of saying the host is not allowed) and adds Via headers;
// `http-proxy` / `http-proxy-middleware` are reverse proxies without CONNECT;
// `proxy-chain` can refuse per host (RequestError 403 from
// prepareRequestFunction) but listens on a TCP port through its own listen(),
// and brings upstream chaining and SOCKS (socks, socks-proxy-agent) that this
// service must not have. What is needed here (one allow check, a splice, a
// streamed forward) is small enough to read whole.
//
// DNS: a name is resolved (by net.connect / http.request, on the host) only
// after it passed the allow check, and the check and the connection use the
// same string, so there is no second parse that could disagree.
import http from 'node:http';
import net from 'node:net';
import { chmod, lstat, unlink } from 'node:fs/promises';

export interface EgressLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface EgressProxy {
  socketPath: string;
  close(): Promise<void>;
}

/** A parsed allow-list entry: a host name or IP (IPv6 without brackets), and a port or any. */
interface Rule {
  host: string;
  port?: number;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function validHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((l) => LABEL.test(l));
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the host lower-cased, IPv6 without brackets. */
function splitHostPort(text: string): { host: string; port?: string } | undefined {
  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (!m || !net.isIPv6(m[1] ?? '')) return undefined;
    return { host: (m[1] ?? '').toLowerCase(), ...(m[2] !== undefined ? { port: m[2] } : {}) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text.toLowerCase() };
  const host = text.slice(0, colon).toLowerCase();
  // A bare IPv6 address: where it ends and the port begins is ambiguous.
  if (host.includes(':')) return undefined;
  return { host, port: text.slice(colon + 1) };
}

function parseEntry(entry: string): Rule {
  const what = JSON.stringify(entry);
  if (entry.includes('*')) throw new Error(`${what}: wildcards are not supported; list each host exactly`);
  if (entry.includes('/')) throw new Error(`${what}: expected a host or host:port, not a URL`);
  const parts = splitHostPort(entry);
  if (!parts) throw new Error(`${what}: an IPv6 address must be written [address] or [address]:port`);
  if (parts.host.length === 0) throw new Error(`${what}: the host name is empty`);
  if (!net.isIPv6(parts.host) && !validHostName(parts.host)) {
    throw new Error(`${what}: ${JSON.stringify(parts.host)} is not a valid host name (letters, digits, hyphens and dots)`);
  }
  if (parts.port === undefined) return { host: parts.host };
  const port = parsePort(parts.port);
  if (port === undefined) throw new Error(`${what}: the port must be a number from 1 to 65535`);
  return { host: parts.host, port };
}

function formatRule(r: Rule): string {
  const host = net.isIPv6(r.host) ? `[${r.host}]` : r.host;
  return r.port === undefined ? host : `${host}:${r.port}`;
}

/**
 * The hosts of KIRO_AGENT_NETWORK's `allow:` list (the text after `allow:`),
 * comma-separated: `host`, `host:port`, `[ipv6]` or `[ipv6]:port`. Returns them
 * normalised (lower-cased); throws an Error saying which entry is wrong and why.
 */
export function parseAllowList(spec: string): string[] {
  if (spec.trim() === '') throw new Error('the allow list names no host (expected host[:port][,host[:port]…])');
  return spec.split(',').map((raw, i) => {
    const entry = raw.trim();
    if (entry === '') throw new Error(`entry ${i + 1} of the allow list is empty (a stray comma?)`);
    return formatRule(parseEntry(entry));
  });
}

function allowed(rules: readonly Rule[], host: string, port: number): boolean {
  return rules.some((r) => r.host === host && (r.port === undefined || r.port === port));
}

/** A CONNECT request's target, `host:port` (authority form, the port required). */
function connectTarget(url: string | undefined): { host: string; port: number } | undefined {
  const parts = url ? splitHostPort(url) : undefined;
  if (!parts || parts.port === undefined) return undefined;
  const port = parsePort(parts.port);
  if (port === undefined || !(net.isIPv6(parts.host) || validHostName(parts.host))) return undefined;
  return { host: parts.host, port };
}

// Headers that belong to one hop (RFC 9110 §7.6.1), plus the Proxy-* ones meant for this proxy.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k.startsWith('proxy-') || named.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

function refusal(host: string, port: number): string {
  const shown = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return `${shown} is not on KIRO_AGENT_NETWORK's allow list\n`;
}

function rawResponse(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Answers a CONNECT that gets no tunnel, then closes. The client may have sent more
 * (a TLS hello) behind its request: that is read and dropped, so that closing does
 * not turn into a reset that loses the answer; a client that does not close in time is cut.
 */
function refuseTunnel(client: net.Socket, status: string, body: string): void {
  client.end(rawResponse(status, body));
  client.resume();
  client.setTimeout(5000, () => client.destroy());
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR';
}

/** Removes a socket file left by a previous run; refuses to remove anything that is not a socket. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const st = await lstat(socketPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return;
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  await unlink(socketPath);
}

export async function startEgressProxy(opts: { socketPath: string; allow: readonly string[]; log?: EgressLog }): Promise<EgressProxy> {
  const { socketPath, log } = opts;
  const rules = opts.allow.map((a) => parseEntry(a.trim()));
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  // Our own agent: no connection reuse across clients, and close() can end it.
  const agent = new http.Agent({ keepAlive: false });

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
    if (!allowed(rules, host, port)) {
      log?.info({ host, port, method: 'CONNECT' }, 'egress refused: host not on the allow list');
      refuseTunnel(client, '403 Forbidden', refusal(host, port));
      return;
    }
    const upstream = net.connect({ host, port, allowHalfOpen: true });
    track(upstream);
    let established = false;
    upstream.once('connect', () => {
      established = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      // pipe() ends the other side when one side ends: half-close goes through both ways.
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (e) => {
      if (!established) {
        log?.warn({ host, port, code: errorCode(e) }, 'egress upstream connect failed');
        refuseTunnel(client, '502 Bad Gateway', `cannot reach ${host}:${port}: ${errorCode(e)}\n`);
      } else {
        client.destroy();
      }
      upstream.destroy();
    });
    // A clean end travels through pipe(); only a failure, or a client gone before the
    // tunnel was up, tears down the other side (destroying on a clean close would drop
    // bytes still buffered for it).
    client.on('error', () => upstream.destroy());
    client.on('close', (hadError) => {
      if (hadError || !established) upstream.destroy();
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
    if (!allowed(rules, host, port)) {
      log?.info({ host, port, method: req.method }, 'egress refused: host not on the allow list');
      plain(403, refusal(host, port));
      return;
    }
    const headers = { ...endToEnd(req.headers), host: url.host };
    const upstream = http.request({ host, port, method: req.method, path: `${url.pathname}${url.search}`, headers, agent });
    upstream.on('socket', track);
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    let clientGone = false;
    upstream.on('error', (e) => {
      if (clientGone) return;
      log?.warn({ host, port, code: errorCode(e) }, 'egress upstream request failed');
      plain(502, `cannot reach ${host}:${port}: ${errorCode(e)}\n`);
    });
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      upstream.destroy();
    });
    req.pipe(upstream);
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
        agent.destroy();
        await closed;
        // libuv unlinks a listening socket's path when it closes; this is in case it did not.
        await unlink(socketPath).catch(() => undefined);
      })();
      return closing;
    },
  };
}
