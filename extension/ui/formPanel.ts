// The delegation form: one webview panel, a strict CSP with a nonce, state pushed
// as whole snapshots over the typed protocol in shared/webviewProtocol.ts.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  emptyBaseHints,
  emptyValues,
  parseFromWebview,
  type BaseBranchHints,
  type FormSnapshot,
  type FormValues,
  type FromWebview,
  type SelectionInfo,
  type ToWebview,
} from '../../shared/webviewProtocol.js';
import { submissionKey, validateForm } from '../form/validation.js';
import { DelegateError } from '../github/errors.js';
import type { SubmitResult } from '../../shared/webviewProtocol.js';

export interface FormPrefill {
  values: Partial<FormValues>;
  selection: SelectionInfo | null;
  warnings: string[];
  base?: BaseBranchHints;
}

/** What arrives after the form opened (the repository's default branch): applied unless the user moved on. */
export interface PrefillUpdate {
  baseBranch: string;
  base: BaseBranchHints;
  warnings: string[];
}

export type SubmitHandler = (
  values: ReturnType<typeof validateForm> & { ok: true },
  selection: SelectionInfo | null,
  progress: (message: string) => void,
) => Promise<SubmitResult>;

/** Told the form's values when it opens, is reset, or a field changes (the PR's preparing query is asked ahead from them). */
export type ValuesListener = (values: FormValues) => void;

export class DelegateFormPanel implements vscode.Disposable {
  static readonly viewType = 'kiroDelegate.form';
  private static current: DelegateFormPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private snapshot: FormSnapshot;
  private ready = false;
  /** Bumped at every prefill, so a late update for an older one is dropped. */
  private generation = 0;
  private prefilledBase = '';
  /** Every PR this form created, by submissionKey: the same task again is confirmed first. */
  private readonly submitted = new Map<string, SubmitResult>();

  /** The panel and the generation of the prefill it shows (for update()). */
  static createOrShow(
    extensionUri: vscode.Uri,
    prefill: FormPrefill,
    onSubmit: SubmitHandler,
    onValues?: ValuesListener,
  ): { panel: DelegateFormPanel; generation: number } {
    const existing = DelegateFormPanel.current;
    if (existing) {
      // A new prefill (a new selection) replaces the form unless a submission is under way (then updates for it are dropped).
      const replaced = existing.snapshot.status.kind !== 'busy';
      if (replaced) existing.reset(prefill);
      existing.panel.reveal(vscode.ViewColumn.Beside);
      return { panel: existing, generation: replaced ? existing.generation : -1 };
    }
    const panel = vscode.window.createWebviewPanel(DelegateFormPanel.viewType, 'Kiro: Delegate Task', vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    DelegateFormPanel.current = new DelegateFormPanel(panel, extensionUri, prefill, onSubmit, onValues);
    return { panel: DelegateFormPanel.current, generation: DelegateFormPanel.current.generation };
  }

  /**
   * Applies what was looked up after the form opened, if it still shows that prefill
   * and nothing is being submitted; the base branch only if the user left it as prefilled.
   */
  update(generation: number, u: PrefillUpdate): void {
    if (generation !== this.generation || this.snapshot.status.kind === 'busy') return;
    const untouched = this.snapshot.values.baseBranch === this.prefilledBase;
    if (untouched) this.prefilledBase = u.baseBranch;
    this.snapshot = {
      ...this.snapshot,
      values: untouched ? { ...this.snapshot.values, baseBranch: u.baseBranch } : this.snapshot.values,
      base: u.base,
      warnings: u.warnings,
    };
    this.post();
    if (untouched) this.onValues?.(this.snapshot.values);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    prefill: FormPrefill,
    private readonly onSubmit: SubmitHandler,
    private readonly onValues?: ValuesListener,
  ) {
    this.snapshot = DelegateFormPanel.fromPrefill(prefill);
    this.prefilledBase = this.snapshot.values.baseBranch;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const msg = parseFromWebview(raw);
        if (msg) void this.handle(msg);
      }),
    );
    this.onValues?.(this.snapshot.values);
  }

  private static fromPrefill(prefill: FormPrefill): FormSnapshot {
    return {
      values: { ...emptyValues(), ...prefill.values },
      selection: prefill.selection,
      base: prefill.base ?? emptyBaseHints(),
      warnings: prefill.warnings,
      errors: {},
      status: { kind: 'idle' },
    };
  }

  private reset(prefill: FormPrefill): void {
    this.generation++;
    this.snapshot = DelegateFormPanel.fromPrefill(prefill);
    this.prefilledBase = this.snapshot.values.baseBranch;
    this.post();
    this.onValues?.(this.snapshot.values);
  }

  private post(requestId?: number): void {
    if (!this.ready) return; // the webview says `ready` first; then it gets the whole state
    const message: ToWebview = { type: 'snapshot', snapshot: this.snapshot, ...(requestId !== undefined ? { requestId } : {}) };
    void this.panel.webview.postMessage(message);
  }

  private async handle(msg: FromWebview): Promise<void> {
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.post();
        return;
      case 'changed':
        this.snapshot = { ...this.snapshot, values: msg.values };
        this.onValues?.(msg.values);
        return;
      case 'openExternal':
        await vscode.env.openExternal(vscode.Uri.parse(msg.url));
        return;
      case 'newTask': {
        const { owner, repo, baseBranch } = this.snapshot.values;
        this.reset({ values: { owner, repo, baseBranch }, selection: null, warnings: [], base: this.snapshot.base });
        return;
      }
      case 'submit':
        return this.submit(msg.requestId, msg.values);
      default: {
        const never: never = msg;
        return never;
      }
    }
  }

  private async submit(requestId: number, values: FormValues): Promise<void> {
    if (this.snapshot.status.kind === 'busy') return;
    const checked = validateForm(values);
    if (!checked.ok) {
      this.snapshot = { ...this.snapshot, values, errors: checked.errors, status: { kind: 'idle' } };
      return this.post(requestId);
    }
    const key = submissionKey(checked.value);
    const earlier = this.submitted.get(key);
    if (earlier) {
      const before = this.snapshot.status;
      this.snapshot = { ...this.snapshot, values, errors: {}, status: { kind: 'busy', message: 'Waiting for your answer…' } };
      this.post(requestId);
      const again = await vscode.window.showWarningMessage(
        `You already delegated this task from this form: pull request #${earlier.number}.`,
        {
          modal: true,
          detail: `Same repository (${checked.value.owner}/${checked.value.repo}), base branch "${checked.value.baseBranch}", title and objective. Create a second pull request for it?`,
        },
        'Create Another PR',
      );
      if (again !== 'Create Another PR') {
        this.snapshot = { ...this.snapshot, status: before };
        return this.post(requestId);
      }
    }
    this.snapshot = {
      ...this.snapshot,
      values,
      errors: {},
      status: { kind: 'busy', message: 'Creating the branch, TASK.md and the pull request…' },
    };
    this.post(requestId);
    try {
      const result = await this.onSubmit(checked, this.snapshot.selection, (message) => {
        this.snapshot = { ...this.snapshot, status: { kind: 'busy', message } };
        this.post(requestId);
      });
      this.submitted.set(key, result);
      this.snapshot = { ...this.snapshot, status: { kind: 'done', result } };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const field = DelegateError.is(e) ? e.field : undefined;
      this.snapshot = { ...this.snapshot, errors: field ? { [field]: message } : {}, status: { kind: 'failed', message } };
    }
    this.post(requestId);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'form.js'));
    const csp = [
      `default-src 'none'`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Kiro: Delegate Task</title>
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 20px 24px; max-width: 760px; }
  h1 { font-size: 1.4em; font-weight: 600; margin: 16px 0 4px; }
  .lead { color: var(--vscode-descriptionForeground); margin: 0 0 16px; }
  .row { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 12px; }
  vscode-textfield, vscode-textarea { width: 100%; }
  .field { margin-bottom: 12px; }
  .error { color: var(--vscode-errorForeground); font-size: 0.92em; min-height: 1.1em; display: block; margin-top: 2px; }
  .warning { border-left: 3px solid var(--vscode-editorWarning-foreground); padding: 6px 10px; margin: 8px 0; background: var(--vscode-inputValidation-warningBackground); }
  .status { margin-top: 12px; display: flex; align-items: center; gap: 8px; }
  .result { border: 1px solid var(--vscode-panel-border); border-left: 4px solid var(--vscode-testing-iconPassed, var(--vscode-focusBorder)); padding: 12px; margin-top: 16px; border-radius: 4px; }
  .result .headline { font-size: 1.15em; font-weight: 600; margin-bottom: 4px; }
  .base-note { margin: -4px 0 12px; }
  .suggestions .hint { color: var(--vscode-descriptionForeground); }
  .failed { color: var(--vscode-errorForeground); }
  code, pre { font-family: var(--vscode-editor-font-family); }
  pre { max-height: 180px; overflow: auto; background: var(--vscode-textCodeBlock-background); padding: 8px; }
  .actions { display: flex; gap: 8px; margin-top: 8px; }
</style>
</head>
<body>
<div id="app" aria-live="polite"></div>
<script type="module" nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    DelegateFormPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
