// The egress proxy's plumbing (egressProxy.ts makes the decisions): a CONNECT target
// read, the headers of one hop dropped, a refusal worded for the agent and sent on a
// raw socket, an upstream connection to the first judged address that answers, and a
// stale socket file cleared before listening.
import type http from 'node:http';
import net from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { formatTarget, parsePort, splitHostPort, validHostName, type BlockReason } from './egressPolicy.js';

/** A CONNECT request's target, `host:port` (authority form, the port required). */
export function connectTarget(url: string | undefined): { host: string; port: number } | undefined {
  const parts = url ? splitHostPort(url) : undefined;
  if (!parts || parts.port === undefined) return undefined;
  const port = parsePort(parts.port);
  if (port === undefined || !(net.isIPv6(parts.host) || validHostName(parts.host))) return undefined;
  return { host: parts.host, port };
}

// Headers that belong to one hop (RFC 9110 §7.6.1), plus the Proxy-* ones meant for this proxy.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
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

/** What the agent reads in a refusal's body: what was refused, and why. */
export function refusal(host: string, port: number, reason: BlockReason, address?: string): string {
  const target = formatTarget(host, port);
  const at = address && address !== host ? ` (${address})` : '';
  switch (reason) {
    case 'not-allowed':
      return `${target} is not on KIRO_AGENT_NETWORK's allow list\n`;
    case 'private':
      return `${target}${at} is not a public address: KIRO_AGENT_NETWORK=open reaches only public ones (KIRO_AGENT_ALLOW_HOSTS may name it)\n`;
    case 'link-local':
      return `${target}${at} is link-local (a cloud's metadata service): no agent may reach it\n`;
    case 'worker':
      return `${target}${at} is this worker's own API: no agent may reach it\n`;
    case 'redis':
      return `${target}${at} is the fleet's Redis: no agent may reach it\n`;
    case 'not-an-address':
      return `${target}: not an address\n`;
  }
}

function rawResponse(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Answers a CONNECT that gets no tunnel, then closes. The client may have sent more
 * (a TLS hello) behind its request: that is read and dropped, so that closing does
 * not turn into a reset that loses the answer; a client that does not close in time is cut.
 */
export function refuseTunnel(client: net.Socket, status: string, body: string): void {
  client.end(rawResponse(status, body));
  client.resume();
  client.setTimeout(5000, () => client.destroy());
}

export function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR';
}

/** Removes a socket file left by a previous run; refuses to remove anything that is not a socket. */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  const st = await lstat(socketPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return;
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  await unlink(socketPath);
}

/** Connects to the first of `addresses` that answers (in the resolver's order), or fails with the last error. */
export function connectAny(addresses: readonly string[], port: number, track: (s: net.Socket) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const next = (last?: Error) => {
      const address = addresses[i++];
      if (address === undefined) {
        reject(last ?? new Error('no address'));
        return;
      }
      const s = net.connect({ host: address, port, allowHalfOpen: true });
      track(s);
      s.once('connect', () => {
        s.off('error', failed);
        resolve(s);
      });
      const failed = (e: Error) => {
        s.destroy();
        next(e);
      };
      s.once('error', failed);
    };
    next();
  });
}
