// The values a job's output must never show, gathered once when its agent starts:
// the variables the agent is given that hold a key or token (the preset's key
// variables, and any passed variable named like one), and the logins in the template
// HOME copied into its sandbox (values under names like token, key, secret, password
// in JSON, TOML, INI, YAML, .env and .npmrc files, .netrc passwords, passwords in
// URLs, and files named like a token that hold one line). Reading the template never
// fails a job: a file that cannot be read, is not text, or is over MAX_FILE_BYTES is
// skipped, and so are symbolic links (the template's own files only).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Files larger than this are not read. */
export const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 2000;
const MAX_DEPTH = 12;
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;
/** Folders of downloads and caches, not of logins. */
const SKIPPED_DIRS = new Set(['node_modules', '.cache', '.npm', '.cargo', '.rustup', '.local/share/pnpm']);

/** An environment variable that holds a secret by its name: OPENAI_API_KEY, GH_TOKEN, DB_PASSWORD, CLIENT_SECRET… */
export function isSecretVariable(name: string): boolean {
  return /KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL/i.test(name);
}

/** The words of a setting's name: "apiKey" → api, key; "//registry/:_authToken" → …, auth, token. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** A setting whose value is a secret, by the last word of its name: access_token, apiKey, client_secret, password, auth… (not token_type, key_path). */
export function isSecretSetting(name: string): boolean {
  const w = words(name);
  const last = w.at(-1) ?? '';
  if (last === 'key' && w.at(-2) === 'env') return false; // Codex's env_key: the name of the variable that holds the key
  return /^(?:key|auth|authorization|bearer|pass|pwd|credentials?)$|(?:token|secret|password|passwd|passphrase|apikey|accesskey|secretkey|privatekey|authkey|sessionkey|signingkey)$/.test(
    last,
  );
}

/** Looks like the name of a variable (Codex's env_key = "OPENAI_API_KEY"), not a value. */
const VARIABLE_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/** The secret values of the agent's environment: its key variables, and any variable named like a secret. */
export function environmentSecrets(env: Readonly<Record<string, string | undefined>>, keyVars: readonly string[]): string[] {
  return Object.entries(env)
    .filter(([name, v]) => v && (keyVars.includes(name) || isSecretVariable(name)))
    .map(([, v]) => v ?? '');
}

/** The secret values written in one file of the template HOME. */
export function fileSecrets(path: string, text: string): string[] {
  const found: string[] = [];
  const add = (v: unknown) => {
    if (typeof v !== 'string') return;
    const value = v.trim();
    if (value && !VARIABLE_NAME.test(value)) found.push(value);
  };
  const trimmed = text.trimStart();
  let json: unknown;
  let isJson = false;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      json = JSON.parse(text);
      isJson = true;
    } catch {
      /* not JSON after all: read as lines */
    }
  }
  if (isJson) walkJson(json, add);
  else {
    for (const line of text.split(/\r?\n/)) settingOfLine(line, add);
    netrcPasswords(text, add);
    // A file named like a token (~/.config/x/token, api_key) holding one word: that word.
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length === 1 && !/\s|:\/\//.test(lines[0] ?? '') && isSecretSetting(basename(path).replace(/\.[a-z]+$/i, ''))) add(lines[0]);
  }
  // Passwords in URLs (.git-credentials, a registry URL in any format).
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:@/"']+:([^\s@/"']+)@/gi)) add(decodeOr(m[1] ?? ''));
  return found;
}

function walkJson(v: unknown, add: (v: unknown) => void, secret = false): void {
  if (typeof v === 'string') {
    if (secret) add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) walkJson(x, add, secret);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) walkJson(x, add, isSecretSetting(k));
  }
}

/** `name = value`, `name: value`, `export NAME="value"`, `//host/:_authToken=value`: the value when the name is a secret's. */
function settingOfLine(line: string, add: (v: unknown) => void): void {
  const l = line.trim().replace(/^export\s+/, '');
  if (!l || l.startsWith('#') || l.startsWith(';') || l.startsWith('[')) return;
  const eq = l.indexOf('=');
  const colon = l.search(/:(\s|$)/);
  const sep = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  if (sep <= 0) return;
  const name = l
    .slice(0, sep)
    .trim()
    .replace(/^["']|["']$/g, '');
  if (!isSecretSetting(name)) return;
  let value = l.slice(sep + 1).trim();
  const quoted = /^(["'])(.*?)\1/.exec(value);
  if (quoted) value = quoted[2] ?? '';
  else value = value.replace(/\s+[#;].*$/, '').replace(/,$/, '');
  add(value);
}

/** .netrc: the word after each `password` (and `passwd`). */
function netrcPasswords(text: string, add: (v: unknown) => void): void {
  const tokens = text.split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) if (tokens[i] === 'password' || tokens[i] === 'passwd') add(tokens[i + 1]);
}

function decodeOr(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The secret values in the files of a template HOME (nothing when there is none or it cannot be read). */
export async function homeSecrets(dir: string | undefined): Promise<string[]> {
  if (!dir) return [];
  const found: string[] = [];
  let files = 0;
  let bytes = 0;
  const visit = async (path: string, rel: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (files >= MAX_FILES || bytes >= MAX_TOTAL_BYTES) return;
      const full = join(path, e.name);
      const relative = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIPPED_DIRS.has(e.name) && !SKIPPED_DIRS.has(relative)) await visit(full, relative, depth + 1);
        continue;
      }
      if (!e.isFile()) continue; // symbolic links, sockets: not the template's own text
      try {
        const st = await lstat(full);
        if (!st.isFile() || st.size > MAX_FILE_BYTES) continue;
        files++;
        bytes += st.size;
        const buf = await readFile(full);
        if (buf.subarray(0, 8192).includes(0)) continue; // binary
        found.push(...fileSecrets(e.name, buf.toString('utf8')));
      } catch {
        /* unreadable: skipped */
      }
    }
  };
  await visit(dir, '', 0);
  return found;
}

/** Everything the job's output must not show: the agent's secret variables and its template HOME's logins. */
export async function agentSecrets(
  env: Readonly<Record<string, string | undefined>>,
  keyVars: readonly string[],
  homeTemplate: string | undefined,
): Promise<string[]> {
  return [...environmentSecrets(env, keyVars), ...(await homeSecrets(homeTemplate))];
}
