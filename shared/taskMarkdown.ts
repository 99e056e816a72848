// TASK.md: what the agent reads, and what the worker parses back into fields.
// The fields are also embedded as JSON in a trailing HTML comment so that the
// round trip is exact whatever markdown the user typed (a "## " line inside the
// objective would otherwise end the section early).

export interface TaskSelection {
  /** Workspace-relative path with forward slashes. */
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  code: string;
  /** Markdown fence language; derived from the path when absent. */
  language?: string;
}

export interface TaskFields {
  title: string;
  objective: string;
  constraints: string[];
  acceptanceCriteria: string[];
  selection?: TaskSelection;
  /** Confirmation code, for the reader's reference. */
  confirmationCode?: string;
}

const MARKER = 'kiro-delegate-task';
const LANGUAGES: Record<string, string> = {
  ts: 'typescript',
  tsx: 'tsx',
  js: 'javascript',
  jsx: 'jsx',
  mjs: 'javascript',
  cjs: 'javascript',
  py: 'python',
  rb: 'ruby',
  go: 'go',
  rs: 'rust',
  java: 'java',
  kt: 'kotlin',
  swift: 'swift',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  hpp: 'cpp',
  cs: 'csharp',
  php: 'php',
  sh: 'bash',
  bash: 'bash',
  zsh: 'bash',
  ps1: 'powershell',
  sql: 'sql',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  toml: 'toml',
  md: 'markdown',
  html: 'html',
  css: 'css',
  scss: 'scss',
  vue: 'vue',
  svelte: 'svelte',
  dart: 'dart',
  scala: 'scala',
  lua: 'lua',
  r: 'r',
  xml: 'xml',
  dockerfile: 'dockerfile',
  tf: 'hcl',
};

export function languageForPath(path: string): string {
  const base = path.split('/').pop() ?? '';
  if (base.toLowerCase() === 'dockerfile') return 'dockerfile';
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return '';
  return LANGUAGES[base.slice(dot + 1).toLowerCase()] ?? '';
}

/** A backtick fence longer than any run of backticks inside the code. */
export function fenceFor(code: string): string {
  const longest = Math.max(0, ...Array.from(code.matchAll(/`+/g), (m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/** Multi-line list items keep their lines, indented under the bullet. */
function listItem(bullet: string, text: string): string {
  const [first = '', ...rest] = text.trim().split(/\r?\n/);
  return [bullet + first, ...rest.map((l) => (l.length > 0 ? `  ${l}` : ''))].join('\n');
}

export function renderTaskMarkdown(task: TaskFields): string {
  const out: string[] = [`# ${oneLine(task.title)}`, ''];
  if (task.confirmationCode) out.push(`Delegated with Kiro Delegate · confirmation code \`${task.confirmationCode}\``, '');
  out.push('## Objective', '', task.objective.trim() || '_None given._', '');
  out.push('## Constraints', '');
  out.push(task.constraints.length > 0 ? task.constraints.map((c) => listItem('- ', c)).join('\n') : '_None._', '');
  out.push('## Acceptance Criteria', '');
  out.push(task.acceptanceCriteria.length > 0 ? task.acceptanceCriteria.map((a) => listItem('- [ ] ', a)).join('\n') : '_None._', '');
  if (task.selection) {
    const s = task.selection;
    const lang = s.language ?? languageForPath(s.path);
    const fence = fenceFor(s.code);
    const lines = s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}-${s.endLine}`;
    out.push('## Code Selection', '', `File: \`${s.path}\` (${lines})`, '', `${fence}${lang}`, s.code.replace(/\n$/, ''), fence, '');
  }
  // base64 keeps "--" and ">" of user text from closing the comment.
  const payload = Buffer.from(JSON.stringify(task), 'utf8').toString('base64');
  out.push(`<!-- ${MARKER} ${payload} -->`, '');
  return out.join('\n');
}

export class TaskParseError extends Error {
  readonly code = 'TASK_PARSE';
  static is(e: unknown): e is TaskParseError {
    return e instanceof TaskParseError;
  }
}

/** Parses a TASK.md we rendered; a hand-written one is read by its headings. */
export function parseTaskMarkdown(markdown: string): TaskFields {
  // The last one is ours: user text above it may contain look-alikes.
  const embedded = [...markdown.matchAll(new RegExp(`<!-- ${MARKER} ([A-Za-z0-9+/=]+) -->`, 'g'))].pop();
  if (embedded?.[1]) {
    try {
      return normalise(JSON.parse(Buffer.from(embedded[1], 'base64').toString('utf8')));
    } catch {
      throw new TaskParseError('TASK.md carries a damaged task payload');
    }
  }
  return parseByHeadings(markdown);
}

function normalise(v: unknown): TaskFields {
  const o = v as Partial<TaskFields> | null;
  if (!o || typeof o.title !== 'string' || typeof o.objective !== 'string')
    throw new TaskParseError('task payload lacks title or objective');
  const strings = (a: unknown) => (Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : []);
  const fields: TaskFields = {
    title: o.title,
    objective: o.objective,
    constraints: strings(o.constraints),
    acceptanceCriteria: strings(o.acceptanceCriteria),
  };
  if (o.selection && typeof o.selection.path === 'string' && typeof o.selection.code === 'string') fields.selection = o.selection;
  if (typeof o.confirmationCode === 'string') fields.confirmationCode = o.confirmationCode;
  return fields;
}

function parseByHeadings(markdown: string): TaskFields {
  const lines = markdown.split(/\r?\n/);
  const titleLine = lines.find((l) => l.startsWith('# '));
  if (!titleLine) throw new TaskParseError('TASK.md has no "# Title" line');
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    const h = /^## (.+)$/.exec(line);
    if (h?.[1]) sections.set(h[1].trim().toLowerCase(), (current = []));
    else current?.push(line);
  }
  const text = (name: string) => (sections.get(name) ?? []).join('\n').trim();
  const items = (name: string) =>
    (sections.get(name) ?? []).filter((l) => /^[-*] /.test(l)).map((l) => l.replace(/^[-*] (\[[ xX]\] )?/, '').trim());
  return {
    title: titleLine.slice(2).trim(),
    objective: text('objective'),
    constraints: items('constraints'),
    acceptanceCriteria: items('acceptance criteria'),
  };
}

const FOLLOW_UP = /^## Follow-up (\d+)\s*$/gm;

/** How many follow-up sections TASK.md has (0 for the first round). */
export function followUpCount(markdown: string): number {
  return Math.max(0, ...[...markdown.matchAll(FOLLOW_UP)].map((m) => Number(m[1])));
}

/**
 * TASK.md with one more `## Follow-up N` section at the end (date, instructions):
 * the agent reads the whole file and acts on the latest section. Instructions are
 * the user's words; a heading in them is demoted so it cannot pose as a section.
 */
export function appendFollowUp(markdown: string, instructions: string, at: Date): { markdown: string; round: number } {
  const n = followUpCount(markdown) + 1;
  const body = instructions
    .trim()
    .replace(/\r\n?/g, '\n')
    .replace(/^(#{1,2}) /gm, '### ');
  const text = `${markdown.replace(/\s*$/, '')}\n\n## Follow-up ${n}\n\n_${at.toISOString().slice(0, 16).replace('T', ' ')} UTC_\n\n${body}\n`;
  return { markdown: text, round: n };
}
