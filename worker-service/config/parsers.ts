// Parsers of the variables whose syntax is their own (schema.ts names them): argv, host lists,
// paths, names. Each throws a ConfigError naming the variable and showing what is expected.
import { isAbsolute, resolve } from 'node:path';
import { isServiceSecret } from '../agent/command.js';
import { parseHostList } from '../sandbox/egressPolicy.js';
import { ConfigError } from './kinds.js';

export function agentCommand(raw: string | undefined, name: string): string[] | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(
      name,
      'expected a JSON array of strings, e.g. ["kiro-cli","chat","--no-interactive","--trust-all-tools","{prompt}"]',
    );
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string') || parsed[0] === '') {
    throw new ConfigError(name, 'expected a non-empty JSON array of strings');
  }
  return parsed;
}

export function agentKeyVar(raw: string | undefined, name: string): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  if (v !== 'none' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
    throw new ConfigError(name, `expected a variable name or "none", got ${JSON.stringify(v)}`);
  if (isServiceSecret(v)) throw new ConfigError(name, `${v} is one of the service's own secrets, which never reach the agent`);
  return v;
}

/** KIRO_AGENT_NETWORK as written; the preset's hosts and KIRO_AGENT_ALLOW_HOSTS are added in load.ts. */
export type NetworkSetting = { mode: 'default' } | { mode: 'open' } | { mode: 'none' } | { mode: 'allow'; hosts: string[] };

export function network(raw: string | undefined, name: string): NetworkSetting {
  const v = (raw ?? '').trim();
  if (v === '') return { mode: 'default' };
  if (v === 'open' || v === 'none') return { mode: v };
  if (v.startsWith('allow:')) {
    try {
      // One parser decides, the egress proxy's own: what passes here is what the proxy allows.
      return { mode: 'allow', hosts: parseHostList(v.slice('allow:'.length)) };
    } catch (e) {
      throw new ConfigError(name, `${(e as Error).message} (e.g. allow:api.anthropic.com,@registries)`);
    }
  }
  throw new ConfigError(
    name,
    `expected open, none or allow:<host>[,<host>…] (unset: the agent's API hosts and KIRO_AGENT_ALLOW_HOSTS), got ${JSON.stringify(v)}`,
  );
}

export function allowHosts(raw: string | undefined, name: string): string[] {
  try {
    return parseHostList(raw ?? '', true);
  } catch (e) {
    throw new ConfigError(name, `${(e as Error).message} (e.g. registry.npmjs.org,pypi.org:443 or @registries)`);
  }
}

export function absolutePaths(raw: string | undefined, name: string): string[] {
  const v = raw?.trim();
  if (!v) return [];
  return v
    .split(':')
    .filter(Boolean)
    .map((p) => {
      if (!isAbsolute(p)) throw new ConfigError(name, `paths must be absolute, got ${JSON.stringify(p)}`);
      return resolve(p);
    });
}

/** A comma-separated list, each entry trimmed, empty ones dropped. */
export function names(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function bots(raw: string | undefined, name: string): string[] {
  const list = names(raw).map((b) => b.toLowerCase());
  for (const b of list) {
    if (!/^[a-z0-9-]{1,39}(\[bot\])?$/.test(b))
      throw new ConfigError(name, `expected bot logins such as renovate[bot], got ${JSON.stringify(b)}`);
  }
  return list;
}

export function redisUrl(raw: string | undefined, name: string): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, 'expected redis://host:port/db or rediss://host:port/db');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ConfigError(name, `expected a redis:// or rediss:// URL, got the scheme ${JSON.stringify(u.protocol)}`);
  if (u.pathname.length > 1 && !/^\/\d{1,2}$/.test(u.pathname))
    throw new ConfigError(name, 'the path, if any, is the database number (e.g. /0)');
  return v;
}

export function workerId(raw: string | undefined, name: string): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(v)) throw new ConfigError(name, 'letters, digits, ".", "_", ":" and "-" only, at most 64');
  return v;
}

/** '' is a value here (no prefix rule), not "unset". */
export function branchPrefix(raw: string | undefined, name: string): string {
  const prefix = raw ?? 'kiro/';
  if (
    prefix !== '' &&
    (!/^[A-Za-z0-9._/-]{1,100}$/.test(prefix) || prefix.startsWith('-') || prefix.startsWith('/') || prefix.includes('..'))
  ) {
    throw new ConfigError(name, `expected a branch-name prefix such as "kiro/", got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/** A path made absolute against the working directory. */
export function path(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  return v ? (isAbsolute(v) ? v : resolve(v)) : undefined;
}
