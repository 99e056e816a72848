// "Kiro: Delegate Task" and "Kiro: Delegate Selection": open the form prefilled
// from the workspace, and submit it through the plain delegate flow. While the form
// is open, the PR's preparing query is asked ahead (github/prefetch.ts), so that a
// submit usually takes one round trip to GitHub.
import * as vscode from 'vscode';
import { chooseBaseBranch, type BaseBranchFacts } from '../../shared/baseBranch.js';
import { languageForPath } from '../../shared/taskMarkdown.js';
import type { FormValues, SelectionInfo } from '../../shared/webviewProtocol.js';
import { delegate, type Delegated } from '../delegations/delegate.js';
import type { ValidForm } from '../form/validation.js';
import { lookupBaseBranches } from '../github/baseBranches.js';
import { DelegateError } from '../github/errors.js';
import { PrepareCache } from '../github/prefetch.js';
import { changeWarnings, workspaceRepoWithProgress } from '../git/vscodeGit.js';
import type { Services } from '../services.js';
import { githubEndpoint, readSettings } from '../settings.js';
import { DelegateFormPanel, type FormPrefill, type SubmitHandler, type ValuesListener } from '../ui/formPanel.js';
import type { HealthStatusBar } from '../ui/statusBar.js';
import { notifySendProblem } from '../ui/notifications.js';

export function submitHandler(services: Services, statusBar: HealthStatusBar, prefetch: PrepareCache): SubmitHandler {
  return async (checked, selection, progress) =>
    (await submitDelegation(services, statusBar, prefetch, checked.value, selection, progress)).result;
}

/** Creates the PR and sends the job (the form's submit, the chat's confirmation and the kiro_delegate tool). */
async function submitDelegation(
  services: Services,
  statusBar: HealthStatusBar,
  prefetch: PrepareCache,
  form: ValidForm,
  selection: SelectionInfo | null,
  progress: (m: string) => void,
): Promise<Delegated> {
  const checked = { value: form };
  {
    const github = await services.github(true);
    if (!github)
      throw new DelegateError('NOT_SIGNED_IN', 'Not signed in to GitHub: sign in (or run "Kiro: Set GitHub Token") and submit again.');
    const prepared = await prefetch.lookup(github, checked.value);
    const settings = readSettings();
    progress(`Creating ${settings.draft ? 'a draft' : 'the'} pull request on ${checked.value.owner}/${checked.value.repo}…`);
    const sel = selection
      ? {
          path: selection.path,
          startLine: selection.startLine,
          endLine: selection.endLine,
          code: selection.code,
          language: selection.language,
        }
      : undefined;
    const done = await delegate(checked.value, sel, {
      github,
      worker: () => services.worker(),
      store: services.store,
      branchPrefix: settings.branchPrefix,
      draft: settings.draft,
      webUrl: githubEndpoint(settings).webUrl,
      log: (m) => services.log.info(m),
      prepared,
      onSendProblem: (d, outcome) => notifySendProblem(services, d, outcome),
      onQueuedLocally: (d, seconds) => {
        vscode.window.setStatusBarMessage(
          `$(clock) Kiro: PR #${d.prNumber} queued locally, the worker is busy; retrying in ${seconds} s`,
          Math.min(seconds, 30) * 1000,
        );
      },
    }).catch((e: unknown) => {
      // The prepared answer may be what went wrong (a repository re-created since): the next submit asks afresh.
      prefetch.forget(checked.value);
      throw e;
    });
    void done.sending.finally(() => {
      services.watcher.start();
      void statusBar.refresh();
    });
    services.watcher.start();
    const delegation = { id: done.result.confirmationCode };
    vscode.window
      .showInformationMessage(
        `Kiro: PR #${done.result.number} created (${done.result.confirmationCode}). The agent is on it.`,
        'Show Agent Output',
        'Open PR',
        'Cancel',
      )
      .then(async (pick) => {
        // The job id may arrive after the notification: the commands read the delegation when clicked.
        if (pick === 'Open PR') void vscode.env.openExternal(vscode.Uri.parse(done.result.prUrl));
        else if (pick === 'Show Agent Output') {
          await done.sending;
          await vscode.commands.executeCommand('kiroDelegate.showAgentOutput', delegation);
        } else if (pick === 'Cancel') {
          await done.sending;
          await vscode.commands.executeCommand('kiroDelegate.cancelJob', delegation);
        }
      });
    return done;
  }
}

/** The editor's selection as the task's code excerpt (none when nothing is selected). */
export function editorSelection(editor: vscode.TextEditor | undefined): SelectionInfo | null {
  if (!editor || editor.selection.isEmpty) return null;
  const s = editor.selection;
  // A selection ending at column 0 of a line does not include that line.
  const endLine = s.end.character === 0 && s.end.line > s.start.line ? s.end.line : s.end.line + 1;
  const path = vscode.workspace.asRelativePath(editor.document.uri, false).replace(/\\/g, '/');
  return {
    path,
    startLine: s.start.line + 1,
    endLine,
    code: editor.document.getText(s),
    language: languageForPath(path) || editor.document.languageId,
  };
}

/**
 * Opens the form prefilled from the workspace; the base branch is the setting, else
 * the repository's default branch, which one query to GitHub tells (applied when it
 * answers, unless the user already changed the field).
 */
async function openForm(
  context: vscode.ExtensionContext,
  services: Services,
  onSubmit: SubmitHandler,
  onValues: ValuesListener,
  editor: vscode.TextEditor | undefined,
  withSelection: boolean,
  given: Partial<FormValues> = {},
): Promise<void> {
  const settings = readSettings();
  const info = await workspaceRepoWithProgress(editor?.document.uri, 'Kiro: opening the form');
  const selection = withSelection ? editorSelection(editor) : null;
  const facts: BaseBranchFacts = { setting: settings.baseBranch, currentBranch: info.branch, kiroPrefix: settings.branchPrefix };
  const base = (f: BaseBranchFacts) => {
    const choice = chooseBaseBranch(f);
    const warnings = withSelection ? changeWarnings(info, editor?.document, choice.value) : [];
    if (!info.remote) warnings.push('No GitHub remote was found in this workspace: fill in the owner and repository.');
    return {
      baseBranch: choice.value,
      base: { defaultBranch: f.defaultBranch ?? null, suggestions: choice.suggestions, kiroPrefix: f.kiroPrefix },
      warnings,
    };
  };
  const first = base(facts);
  const prefill: FormPrefill = {
    values: {
      owner: info.remote?.owner ?? '',
      repo: info.remote?.repo ?? '',
      baseBranch: first.baseBranch,
      title: '',
      objective: selection ? `Work on ${selection.path}, lines ${selection.startLine}-${selection.endLine}: ` : '',
      ...given,
    },
    selection,
    warnings: first.warnings,
    base: first.base,
  };
  const { panel, generation } = DelegateFormPanel.createOrShow(context.extensionUri, prefill, onSubmit, onValues);
  const remote = info.remote;
  const github = remote && (await services.github(false)); // silently: no sign-in prompt for a prefill
  if (!remote || !github) return;
  try {
    panel.update(generation, base({ ...facts, ...(await lookupBaseBranches(github, remote.owner, remote.repo, info.branch)) }));
  } catch (e) {
    services.log.info(`could not look up the default branch of ${remote.owner}/${remote.repo}: ${(e as Error).message}`);
  }
}

/** What the chat participant and the kiro_delegate tool use of the form's flow. */
export interface DelegateFlow {
  /** Opens the form with these values over the workspace's prefill (the editor's selection included when there is one). */
  open(values: Partial<FormValues>): Promise<void>;
  submit(form: ValidForm, selection: SelectionInfo | null): Promise<Delegated>;
}

export function registerDelegateCommands(context: vscode.ExtensionContext, services: Services, statusBar: HealthStatusBar): DelegateFlow {
  // Asked silently (a token already there, no sign-in prompt), like the default-branch lookup.
  const prefetch = new PrepareCache({ github: () => services.github(false), log: (m) => services.log.info(m) });
  context.subscriptions.push({ dispose: () => prefetch.dispose() });
  const onSubmit = submitHandler(services, statusBar, prefetch);
  const onValues: ValuesListener = (v) => prefetch.schedule({ owner: v.owner, repo: v.repo, baseBranch: v.baseBranch });
  context.subscriptions.push(
    vscode.commands.registerCommand('kiroDelegate.delegateTask', () =>
      openForm(context, services, onSubmit, onValues, vscode.window.activeTextEditor, false),
    ),
    // The palette's "Kiro: Delegate Selection", and the same under the editor's context menu, which shows
    // no category, as "Delegate Selection to Kiro" (kiroDelegate.delegateSelectionMenu, hidden from the palette).
    ...['kiroDelegate.delegateSelection', 'kiroDelegate.delegateSelectionMenu'].map((id) =>
      vscode.commands.registerCommand(id, async () => {
        const editor = vscode.window.activeTextEditor;
        if (!editor || editor.selection.isEmpty) {
          vscode.window.showInformationMessage('Select some code first, then run "Kiro: Delegate Selection".');
          return;
        }
        await openForm(context, services, onSubmit, onValues, editor, true);
      }),
    ),
  );
  return {
    open: (values) => {
      const editor = vscode.window.activeTextEditor;
      return openForm(context, services, onSubmit, onValues, editor, Boolean(editor && !editor.selection.isEmpty), values);
    },
    submit: (form, selection) => submitDelegation(services, statusBar, prefetch, form, selection, (m) => services.log.info(m)),
  };
}
