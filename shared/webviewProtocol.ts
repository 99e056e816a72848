// The one message protocol between the delegation form (webview) and the
// extension: a union keyed on `type` each way. The webview says `ready` before
// the extension posts anything; replies carry the request's id.
export const FIELD_NAMES = ['owner', 'repo', 'baseBranch', 'title', 'objective', 'prTitle', 'constraints', 'acceptanceCriteria'] as const;
export type FieldName = (typeof FIELD_NAMES)[number];
export type FormValues = Record<FieldName, string>;

export interface SelectionInfo {
  path: string;
  startLine: number;
  endLine: number;
  code: string;
  language: string;
}

export interface SubmitResult {
  prUrl: string;
  number: number;
  branchName: string;
  confirmationCode: string;
}

/** What the form offers and warns about for the base branch (see shared/baseBranch.ts). */
export interface BaseBranchHints {
  /** The repository's default branch, once looked up. */
  defaultBranch: string | null;
  /** Branches offered with one click (the default branch, the workspace's branch when it is on GitHub). */
  suggestions: string[];
  /** Kiro's branch prefix: a base starting with it gets a warning. */
  kiroPrefix: string;
}

/** A whole snapshot of the form's state: the webview renders it as is. */
export interface FormSnapshot {
  values: FormValues;
  selection: SelectionInfo | null;
  base: BaseBranchHints;
  /** Things to know before submitting (unsaved or unpushed changes). */
  warnings: string[];
  errors: Partial<Record<FieldName, string>>;
  status:
    { kind: 'idle' } | { kind: 'busy'; message: string } | { kind: 'done'; result: SubmitResult } | { kind: 'failed'; message: string };
}

export type ToWebview = { type: 'snapshot'; snapshot: FormSnapshot; requestId?: number };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'changed'; values: FormValues }
  | { type: 'submit'; requestId: number; values: FormValues }
  | { type: 'openExternal'; url: string }
  | { type: 'newTask' };

export function emptyBaseHints(): BaseBranchHints {
  return { defaultBranch: null, suggestions: [], kiroPrefix: '' };
}

export function emptyValues(): FormValues {
  return { owner: '', repo: '', baseBranch: '', title: '', objective: '', prTitle: '', constraints: '', acceptanceCriteria: '' };
}

function isValues(v: unknown): v is FormValues {
  return !!v && typeof v === 'object' && FIELD_NAMES.every((f) => typeof (v as Record<string, unknown>)[f] === 'string');
}

/** Messages from the webview are untrusted input: check the shape before acting. */
export function parseFromWebview(msg: unknown): FromWebview | undefined {
  if (!msg || typeof msg !== 'object') return undefined;
  const m = msg as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'newTask':
      return { type: m.type };
    case 'changed':
      return isValues(m.values) ? { type: 'changed', values: m.values } : undefined;
    case 'submit':
      return typeof m.requestId === 'number' && isValues(m.values)
        ? { type: 'submit', requestId: m.requestId, values: m.values }
        : undefined;
    case 'openExternal':
      return typeof m.url === 'string' && /^https?:\/\//.test(m.url) ? { type: 'openExternal', url: m.url } : undefined;
    default:
      return undefined;
  }
}
