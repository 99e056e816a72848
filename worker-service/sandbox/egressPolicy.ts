// What an agent's network may reach, decided in one place for the egress proxy:
// the allow-list entries (their syntax, the named sets such as @registries), the
// addresses no agent may reach in any mode (link-local: the cloud's metadata
// service; this worker's own ports; Redis), and under `open` the rule that only
// public addresses are reached unless KIRO_AGENT_ALLOW_HOSTS names the host.
//
// Addresses are compared after normalisation: an IPv4 address written as IPv6
// (::ffff:169.254.169.254, ::ffff:a9fe:a9fe, NAT64 64:ff9b::a9fe:a9fe, 6to4
// 2002:a9fe:a9fe::) is judged as the IPv4 address it reaches. Names are judged by
// what they resolve to; the proxy then connects to exactly the address it judged.
import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';
import { inBlockList, isLinkLocal, isLocalAddress, isPublicAddress, normalizeAddress } from './addresses.js';

/** A parsed allow-list entry: a host name or IP (IPv6 without brackets), and a port or any. */
export interface Rule {
  host: string;
  port?: number;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function validHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((l) => LABEL.test(l));
}

export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the host lower-cased, IPv6 without brackets. */
export function splitHostPort(text: string): { host: string; port?: string } | undefined {
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

export function parseEntry(entry: string): Rule {
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

export function formatRule(r: Rule): string {
  const host = net.isIPv6(r.host) ? `[${r.host}]` : r.host;
  return r.port === undefined ? host : `${host}:${r.port}`;
}

/** `host:port` as it is shown (IPv6 bracketed). */
export function formatTarget(host: string, port: number): string {
  return formatRule({ host, port });
}

/**
 * Named sets an allow list may hold instead of hosts. `@registries`: the common package
 * registries (npm, PyPI, crates.io, the Go module proxy, Maven Central, RubyGems, Debian
 * and Ubuntu archives; the archives on 80 too, where apt goes by default).
 */
export const NAMED_SETS: Readonly<Record<string, readonly string[]>> = {
  '@registries': [
    'registry.npmjs.org:443',
    'pypi.org:443',
    'files.pythonhosted.org:443',
    'crates.io:443',
    'static.crates.io:443',
    'index.crates.io:443',
    'proxy.golang.org:443',
    'sum.golang.org:443',
    'repo.maven.apache.org:443',
    'rubygems.org:443',
    'deb.debian.org:80',
    'deb.debian.org:443',
    'security.debian.org:80',
    'security.debian.org:443',
    'archive.ubuntu.com:80',
    'archive.ubuntu.com:443',
    'security.ubuntu.com:80',
    'security.ubuntu.com:443',
  ],
};

/**
 * A comma-separated allow list (KIRO_AGENT_NETWORK's after `allow:`, KIRO_AGENT_ALLOW_HOSTS):
 * `host`, `host:port`, `[ipv6]`, `[ipv6]:port` or a named set (`@registries`). Returns the
 * entries normalised (lower-cased, sets expanded, duplicates dropped); throws an Error
 * saying which entry is wrong and why. `emptyOk`: an empty list is no error (nothing added).
 */
export function parseHostList(spec: string, emptyOk = false): string[] {
  if (spec.trim() === '') {
    if (emptyOk) return [];
    throw new Error('the allow list names no host (expected host[:port][,host[:port]…])');
  }
  const out = spec.split(',').flatMap((raw, i) => {
    const entry = raw.trim();
    if (entry === '') throw new Error(`entry ${i + 1} of the allow list is empty (a stray comma?)`);
    if (entry.startsWith('@')) {
      const set = NAMED_SETS[entry.toLowerCase()];
      if (!set) throw new Error(`${JSON.stringify(entry)}: no such named set (known: ${Object.keys(NAMED_SETS).join(', ')})`);
      return [...set];
    }
    return [formatRule(parseEntry(entry))];
  });
  return [...new Set(out)];
}

export function matches(rules: readonly Rule[], host: string, port: number): boolean {
  return rules.some((r) => r.host === host && (r.port === undefined || r.port === port));
}

// ---- what no agent may reach ----

/** Why a destination is refused whatever any list says, for the refusal and the job's record. */
export type ForbiddenReason = 'link-local' | 'worker' | 'redis' | 'not-an-address';

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

export interface ForbiddenOptions {
  /** The ports this worker listens on (asked at each check: a port chosen at listen time is known only then). */
  workerPorts?: () => readonly number[];
  /** Redis (KIRO_REDIS_URL): refused at its resolved addresses, and on every address of this host when it runs here. */
  redis?: { host: string; port: number };
  /** Resolves the Redis host name. */
  lookup?: Lookup;
  /** Tests: more addresses refused on every port. */
  extra?: net.BlockList;
}

/** The destinations refused in every mode, whatever an allow list says. */
export class ForbiddenTargets {
  constructor(private readonly o: ForbiddenOptions = {}) {}

  /** The reason `host` (the name asked for) at `address`:`port` (what it resolved to) is refused, or null. */
  async reason(host: string, address: string, port: number): Promise<ForbiddenReason | null> {
    const a = normalizeAddress(address);
    if (!a) return 'not-an-address'; // never connected to (a resolver's answers are addresses)
    if (isLinkLocal(address) || (this.o.extra && inBlockList(this.o.extra, a))) return 'link-local';
    if ((this.o.workerPorts?.() ?? []).includes(port) && isLocalAddress(address)) return 'worker';
    const redis = this.o.redis;
    if (redis && port === redis.port) {
      if (host === redis.host.toLowerCase() || isLocalAddress(address)) return 'redis';
      // Resolved again at each check (only on Redis's port): after a failover its name points elsewhere.
      const targets = net.isIP(redis.host) ? [{ address: redis.host }] : await (this.o.lookup ?? defaultLookup)(redis.host).catch(() => []);
      const seen = targets.map((t) => normalizeAddress(t.address)).filter((t): t is NonNullable<typeof t> => t !== null);
      if (seen.some((t) => t.family === a.family && t.address === a.address)) return 'redis';
      if (seen.some((t) => isLocalAddress(t.address)) && isLocalAddress(address)) return 'redis';
    }
    return null;
  }
}

/** The system's resolver (getaddrinfo: /etc/hosts, then DNS), every address in its order. */
export const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Redis's host and port from KIRO_REDIS_URL (redis:// or rediss://, port 6379 by default). */
export function redisTarget(url: string | undefined): { host: string; port: number } | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    return host ? { host, port: u.port ? Number(u.port) : 6379 } : undefined;
  } catch {
    return undefined;
  }
}

// ---- the decision ----

/** Why a request is refused: not on the list, a private address under `open`, or a destination no agent may reach. */
export type BlockReason = 'not-allowed' | 'private' | ForbiddenReason;

export type Decision =
  /** Reach `host` at one of these addresses (in the resolver's order): the ones judged, never the name again. */
  | { ok: true; addresses: string[] }
  /** Refused: why, and the address that was (absent when the name itself was). */
  | { ok: false; reason: BlockReason; address?: string }
  /** The name does not resolve: not a refusal, the agent hears 502. */
  | { ok: false; unresolved: string };

export interface EgressRulesOptions {
  /** `allow`: only the listed hosts. `open`: any public address, and the listed hosts wherever they are. */
  mode: 'allow' | 'open';
  /** Allow-list entries (`host`, `host:port`, `[v6]`, `[v6]:port`). */
  allow: readonly string[];
  /** Refused in every mode; without it, link-local addresses still are. */
  forbidden?: ForbiddenTargets;
  lookup?: Lookup;
}

/** One proxy's rules: whether `host`:`port` may be reached, and at which addresses. */
export class EgressRules {
  private readonly rules: Rule[];
  private readonly forbidden: ForbiddenTargets;
  private readonly lookup: Lookup;

  constructor(private readonly o: EgressRulesOptions) {
    this.rules = o.allow.map((a) => parseEntry(a.trim()));
    this.forbidden = o.forbidden ?? new ForbiddenTargets();
    this.lookup = o.lookup ?? defaultLookup;
  }

  /**
   * The name first (under `allow` it must be listed), then every address it resolves to,
   * once: the forbidden ones never pass, and under `open` an unlisted name passes only at
   * public addresses. A name with some addresses that pass is reached at those only.
   */
  async decide(host: string, port: number): Promise<Decision> {
    const listed = matches(this.rules, host, port);
    if (this.o.mode === 'allow' && !listed) return { ok: false, reason: 'not-allowed' };
    let resolved: string[];
    if (net.isIP(host)) {
      resolved = [host];
    } else {
      try {
        resolved = (await this.lookup(host)).map((a) => a.address);
      } catch (e) {
        return { ok: false, unresolved: (e as NodeJS.ErrnoException).code ?? 'ERROR' };
      }
    }
    const passed: string[] = [];
    let first: { reason: BlockReason; address: string } | null = null;
    for (const address of resolved) {
      const reason =
        (await this.forbidden.reason(host, address, port)) ??
        (this.o.mode === 'open' && !listed && !isPublicAddress(address) ? 'private' : null);
      if (reason) first ??= { reason, address };
      else passed.push(address);
    }
    if (passed.length > 0) return { ok: true, addresses: passed };
    return first ? { ok: false, ...first } : { ok: false, unresolved: 'NO_ADDRESS' };
  }
}
