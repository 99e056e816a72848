// The delegation form in the webview: the only file that calls acquireVsCodeApi.
// It renders whatever snapshot the extension sends and reports edits and submits.
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import {
  FIELD_NAMES,
  emptyBaseHints,
  emptyValues,
  type BaseBranchHints,
  type FieldName,
  type FormSnapshot,
  type FormValues,
  type FromWebview,
  type ToWebview,
} from '../../shared/webviewProtocol.js';
import { baseBranchWarning } from '../../shared/baseBranch.js';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): FormValues | undefined;
  setState(state: FormValues): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;

const LABELS: Record<FieldName, { label: string; multiline: boolean; placeholder: string; required: boolean }> = {
  owner: { label: 'Owner', multiline: false, placeholder: 'octo-org', required: true },
  repo: { label: 'Repository', multiline: false, placeholder: 'my-app', required: true },
  baseBranch: { label: 'Base branch', multiline: false, placeholder: 'main', required: true },
  title: { label: 'Task title', multiline: false, placeholder: 'Add a login form', required: true },
  objective: { label: 'Objective', multiline: true, placeholder: 'What should the agent achieve, and why?', required: true },
  prTitle: { label: 'PR title', multiline: false, placeholder: 'Defaults to the task title', required: false },
  constraints: { label: 'Constraints (one per line)', multiline: true, placeholder: 'No new dependencies', required: false },
  acceptanceCriteria: {
    label: 'Acceptance criteria (one per line)',
    multiline: true,
    placeholder: 'The form validates e-mail addresses',
    required: false,
  },
};

type InputEl = HTMLElement & { value: string };
const inputs = new Map<FieldName, InputEl>();
const errors = new Map<FieldName, HTMLElement>();
let requestSeq = 0;
let prTitleTouched = false;
let baseHints: BaseBranchHints = emptyBaseHints();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function values(): FormValues {
  const v = emptyValues();
  for (const f of FIELD_NAMES) v[f] = inputs.get(f)?.value ?? '';
  return v;
}

function field(name: FieldName): HTMLElement {
  const spec = LABELS[name];
  const wrap = el('div', { class: 'field' });
  const id = `f-${name}`;
  const label = document.createElement('vscode-label');
  label.setAttribute('for', id);
  label.textContent = spec.label + (spec.required ? ' *' : '');
  const input = document.createElement(spec.multiline ? 'vscode-textarea' : 'vscode-textfield') as InputEl;
  input.id = id;
  input.setAttribute('name', name);
  input.setAttribute('placeholder', spec.placeholder);
  input.setAttribute('aria-describedby', `${id}-error`);
  if (spec.multiline) input.setAttribute('rows', name === 'objective' ? '5' : '3');
  input.addEventListener('input', () => {
    if (name === 'prTitle') prTitleTouched = true;
    if (name === 'title' && !prTitleTouched) {
      const pr = inputs.get('prTitle');
      if (pr) pr.value = input.value;
    }
    errors.get(name)?.replaceChildren();
    changed();
  });
  const error = el('span', { class: 'error', id: `${id}-error`, role: 'alert' });
  inputs.set(name, input);
  errors.set(name, error);
  wrap.append(label, input, error);
  return wrap;
}

function changed(): void {
  const v = values();
  vscode.setState(v);
  vscode.postMessage({ type: 'changed', values: v });
  renderBaseNote();
}

function submit(): void {
  vscode.postMessage({ type: 'submit', requestId: ++requestSeq, values: values() });
}

/** Under the base branch: one-click alternatives, and a warning when it is one of Kiro's own branches (live, as typed). */
function renderBaseNote(): void {
  const current = inputs.get('baseBranch')?.value ?? '';
  const offers = baseHints.suggestions.filter((b) => b !== current.trim());
  const parts: HTMLElement[] = [];
  if (offers.length > 0) {
    const line = el('div', { class: 'suggestions' }, 'Base on: ');
    for (const b of offers) {
      const a = el('a', { href: '#', class: 'suggestion', role: 'button' }, b);
      a.title = b === baseHints.defaultBranch ? "the repository's default branch" : 'your current branch (it is on GitHub)';
      a.addEventListener('click', (e) => {
        e.preventDefault();
        const input = inputs.get('baseBranch');
        if (!input) return;
        input.value = b;
        errors.get('baseBranch')?.replaceChildren();
        changed();
      });
      line.append(a, el('span', { class: 'hint' }, b === baseHints.defaultBranch ? ' (default branch) ' : ' (your branch) '));
    }
    parts.push(line);
  }
  const warning = baseBranchWarning(current, baseHints);
  if (warning) parts.push(el('div', { class: 'warning', role: 'note', id: 'base-warning' }, warning));
  baseNote.replaceChildren(...parts);
}

// Built once; snapshots only update values and the status areas.
const doneBox = el('div');
const baseNote = el('div', { class: 'base-note' });
const warningsBox = el('div');
const selectionBox = el('div');
const statusBox = el('div', { class: 'status' });
const submitButton = document.createElement('vscode-button');
submitButton.textContent = 'Delegate to Kiro';
submitButton.addEventListener('click', submit);
const row = el('div', { class: 'row' });
row.append(field('owner'), field('repo'), field('baseBranch'));
app.append(
  doneBox,
  el('h1', {}, 'Delegate a task to Kiro'),
  el(
    'p',
    { class: 'lead' },
    'Kiro opens a pull request with TASK.md at once; an agent then fills it with code on the worker while you keep working.',
  ),
  warningsBox,
  row,
  baseNote,
  field('title'),
  field('objective'),
  selectionBox,
  field('prTitle'),
  field('constraints'),
  field('acceptanceCriteria'),
  submitButton,
  statusBox,
);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    submit();
  }
});

function render(s: FormSnapshot): void {
  for (const f of FIELD_NAMES) {
    const input = inputs.get(f);
    // The field being typed in keeps what is typed: a snapshot may echo values from a few keystrokes ago.
    if (input && input.value !== s.values[f] && document.activeElement !== input) input.value = s.values[f];
    const err = errors.get(f);
    if (err) err.textContent = s.errors[f] ?? '';
  }
  prTitleTouched = s.values.prTitle !== '' && s.values.prTitle !== s.values.title;
  warningsBox.replaceChildren(...s.warnings.map((w) => el('div', { class: 'warning', role: 'note' }, w)));
  baseHints = s.base;
  renderBaseNote();
  selectionBox.replaceChildren();
  if (s.selection) {
    const lines =
      s.selection.startLine === s.selection.endLine
        ? `line ${s.selection.startLine}`
        : `lines ${s.selection.startLine}-${s.selection.endLine}`;
    selectionBox.append(
      el('div', { class: 'field' }, `Selection: ${s.selection.path} (${lines})`),
      el('pre', { class: 'selection' }, s.selection.code),
    );
  }
  const busy = s.status.kind === 'busy';
  submitButton.toggleAttribute('disabled', busy);
  statusBox.replaceChildren();
  const wasDone = doneBox.childElementCount > 0;
  doneBox.replaceChildren();
  switch (s.status.kind) {
    case 'busy': {
      const ring = document.createElement('vscode-progress-ring');
      statusBox.append(ring, el('span', {}, s.status.message));
      break;
    }
    case 'done': {
      // At the top, where it is seen without scrolling: the PR, its code, and the way to the next task.
      const r = s.status.result;
      const box = el('div', { class: 'result', role: 'status' });
      const link = el('a', { href: r.prUrl }, `Pull request #${r.number}`);
      link.addEventListener('click', (e) => {
        e.preventDefault();
        vscode.postMessage({ type: 'openExternal', url: r.prUrl });
      });
      const open = document.createElement('vscode-button');
      open.textContent = 'Open Pull Request';
      open.addEventListener('click', () => vscode.postMessage({ type: 'openExternal', url: r.prUrl }));
      const again = document.createElement('vscode-button');
      again.setAttribute('secondary', '');
      again.textContent = 'Delegate another task';
      again.addEventListener('click', () => vscode.postMessage({ type: 'newTask' }));
      const actions = el('div', { class: 'actions' });
      actions.append(open, again);
      const headline = el('div', { class: 'headline' }, 'Delegated: ');
      headline.append(link, document.createTextNode(' is open and the agent is on it.'));
      box.append(
        headline,
        el('div', { class: 'code' }, `Confirmation code: ${r.confirmationCode}`),
        el('div', {}, `Branch: ${r.branchName}`),
        actions,
      );
      doneBox.append(box);
      if (!wasDone) {
        window.scrollTo({ top: 0 });
        link.focus();
      }
      break;
    }
    case 'failed':
      statusBox.append(el('div', { class: 'failed', role: 'alert' }, s.status.message));
      break;
    case 'idle':
      break;
  }
  vscode.setState(s.values);
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  if (event.data?.type === 'snapshot') render(event.data.snapshot);
});
// Values typed before a reload come back from the webview's own state.
const saved = vscode.getState();
if (saved) render({ values: saved, selection: null, base: emptyBaseHints(), warnings: [], errors: {}, status: { kind: 'idle' } });
vscode.postMessage({ type: 'ready' });
