// The kinds of variable the schema is made of (schema.ts): each parses one raw value and says,
// for the generated page and --check-config, what it accepts, its default and whether it is a
// secret. Hand-written rather than env-schema/envalid: our messages (which tests assert), the
// file-then-environment precedence and the cross-variable rules would be custom there anyway.

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
  static is(e: unknown): e is ConfigError {
    return e instanceof ConfigError;
  }
}

/** Something worth saying at start that does not stop it (an unknown name, a setting with no effect). */
export interface ConfigWarning {
  variable: string;
  message: string;
}

export type Source = Readonly<Record<string, string | undefined>>;

/** The generated page's sections, in this order. */
export const GROUPS = {
  service: 'Service',
  github: 'GitHub',
  identity: 'Identity and limits per user',
  jobs: 'Jobs, slots and requests',
  agent: 'The agent',
  sandbox: 'The sandbox',
  fleet: 'A fleet on Redis',
  webhooks: 'Webhooks',
} as const;
export type Group = keyof typeof GROUPS;

export interface VarMeta {
  /** The WorkerConfig field it feeds (dotted), for readers of the page and the code. */
  field: string;
  group: Group;
  /** The page's "meaning" column (markdown). */
  doc: string;
  /** Never printed, logged or passed to an agent. */
  secret?: true;
  /** Read only when this variable is set; set without it, a warning says it has no effect. */
  needs?: string;
  /** Read from the environment only (not from the KIRO_WORKER_CONFIG file). */
  envOnly?: true;
}

export interface VarSpec<T> extends VarMeta {
  /** The page's "accepts" column (markdown). */
  accepts: string;
  /** The page's "default" column (markdown); undefined: none. */
  shownDefault: string | undefined;
  /** Parses a raw value (undefined or '' when unset); throws ConfigError naming `name`. */
  parse(raw: string | undefined, name: string): T;
}

const code = (s: string | number) => `\`${s}\``;
const quoted = (raw: string | undefined) => JSON.stringify(raw);
const unset = (raw: string | undefined): raw is undefined | '' => raw === undefined || raw === '';
const fmt = (n: number) => (Number.isInteger(n) && n >= 10_000 ? n.toLocaleString('en-US').replace(/,/g, ' ') : String(n));

function wholeNumber(raw: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got ${quoted(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function int(o: VarMeta & { default: number; min: number; max: number }): VarSpec<number> {
  return {
    ...o,
    accepts: `${fmt(o.min)} – ${fmt(o.max)}`,
    shownDefault: code(o.default),
    parse: (raw, name) => (unset(raw) ? o.default : wholeNumber(raw, name, o.min, o.max)),
  };
}

export function optionalInt(o: VarMeta & { min: number; max: number }): VarSpec<number | undefined> {
  return {
    ...o,
    accepts: `${fmt(o.min)} – ${fmt(o.max)}`,
    shownDefault: undefined,
    parse: (raw, name) => (unset(raw) ? undefined : wholeNumber(raw, name, o.min, o.max)),
  };
}

export function text(o: VarMeta & { default: string; shown?: string }): VarSpec<string> {
  return { ...o, accepts: 'text', shownDefault: o.shown ?? code(o.default), parse: (raw) => raw || o.default };
}

/** A variable with a syntax of its own: `parse` returns its value or throws a ConfigError. */
export function custom<T>(
  o: VarMeta & { accepts: string; shown?: string; parse: (raw: string | undefined, name: string) => T },
): VarSpec<T> {
  return { ...o, shownDefault: o.shown };
}

/** A secret: its value appears in no message, log or printout. `minimum` in characters or bytes. */
export function secret(
  o: Omit<VarMeta, 'secret'> & { minimum?: { count: number; unit: 'characters' | 'bytes'; hint?: string } },
): VarSpec<string | undefined> {
  const m = o.minimum;
  return {
    ...o,
    secret: true,
    accepts: m ? `secret, ≥ ${m.count} ${m.unit}` : 'secret',
    shownDefault: undefined,
    parse: (raw, name) => {
      const v = raw || undefined;
      if (v !== undefined && m && (m.unit === 'bytes' ? Buffer.byteLength(v) : v.length) < m.count) {
        throw new ConfigError(
          name,
          m.unit === 'bytes'
            ? `must be at least ${m.count} bytes long${m.hint ?? ''}`
            : `must be at least ${m.count} characters${m.hint ?? ''}`,
        );
      }
      return v;
    },
  };
}

export function flag(o: VarMeta): VarSpec<boolean> {
  return {
    ...o,
    accepts: '`1` or `0` (`true`/`false`, `on`/`off`)',
    shownDefault: code(0),
    parse: (raw, name) => {
      const v = (raw ?? '').trim().toLowerCase();
      if (!['', '0', '1', 'false', 'true', 'off', 'on'].includes(v)) throw new ConfigError(name, `expected 1 or 0, got ${quoted(raw)}`);
      return ['1', 'true', 'on'].includes(v);
    },
  };
}

/** One of `values` (trimmed, any case); unset: `default`, or undefined where the default is worked out. */
type OneOf<D> = VarMeta & { default: D; shown?: string; expected?: string };
export function oneOf<const V extends string>(values: readonly V[], o: OneOf<V>): VarSpec<V>;
export function oneOf<const V extends string>(values: readonly V[], o: OneOf<undefined>): VarSpec<V | undefined>;
export function oneOf<const V extends string>(values: readonly V[], o: OneOf<V | undefined>): VarSpec<V | undefined> {
  return {
    ...o,
    accepts: values.map(code).join(', '),
    shownDefault: o.shown ?? (o.default === undefined ? undefined : code(o.default)),
    parse: (raw, name) => {
      const v = (raw ?? '').trim().toLowerCase();
      if (v === '') return o.default;
      if (!(values as readonly string[]).includes(v))
        throw new ConfigError(name, `expected ${o.expected ?? `one of ${values.join(', ')}`}, got ${quoted(raw)}`);
      return v as V;
    },
  };
}

/** An http(s) URL without credentials, its trailing slashes dropped. */
export function url(o: VarMeta & { default: string }): VarSpec<string> {
  return {
    ...o,
    accepts: 'http(s) URL',
    shownDefault: code(o.default),
    parse: (raw, name) => {
      const v = raw || o.default;
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new ConfigError(name, `expected an http(s) URL, got ${quoted(v)}`);
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(name, `expected an http(s) URL, got ${quoted(v)}`);
      if (u.username || u.password) throw new ConfigError(name, 'must not carry credentials; use KIRO_GITHUB_TOKEN');
      return v.replace(/\/+$/, '');
    },
  };
}
