// The @kiro chat participant: /delegate (plain text too), /status, /followup. Answers are
// built from the store and the form's flow (chatText.ts), never generated: no model is needed.
import * as vscode from 'vscode';
import { DelegateError } from '../github/errors.js';
import { validateForm } from '../form/validation.js';
import { sendFollowUp } from '../delegations/followUp.js';
import type { DelegateFlow } from '../commands/delegate.js';
import { editorSelection } from '../commands/delegate.js';
import type { Services } from '../services.js';
import { notifySendProblem } from '../ui/notifications.js';
import { chatCommand, chatFormValues, findByPr, parseFollowUp, statusEntries, taskSummary } from './chatText.js';
import { workspaceDefaults } from './workspaceDefaults.js';
import type { FormValues } from '../../shared/webviewProtocol.js';

export const PARTICIPANT_ID = 'kiroDelegate.kiro';
/** The chat answer's "Delegate" button: submits the values shown, once. */
export const CHAT_SUBMIT_COMMAND = 'kiroDelegate.chatSubmit';
export const CHAT_EDIT_COMMAND = 'kiroDelegate.chatEdit';

export function registerChatParticipant(context: vscode.ExtensionContext, services: Services, flow: DelegateFlow): void {
  const used = new Set<string>();
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, async (request, _ctx, stream) => {
    const command = chatCommand(request.command);
    if (command === 'status') return status(services, stream);
    if (command === 'followup') return followUp(services, request.prompt, stream);
    const ws = await workspaceDefaults(services);
    const values = chatFormValues(request.prompt, ws);
    const checked = validateForm(values);
    if (!checked.ok) {
      stream.markdown('Opening the delegation form: fill in what is missing there.');
      await flow.open(values);
      return;
    }
    stream.markdown(taskSummary(checked.value));
    const selection = editorSelection(vscode.window.activeTextEditor);
    if (selection) stream.markdown(`\n\nWith the selection in \`${selection.path}\`, lines ${selection.startLine}-${selection.endLine}.`);
    const key = `${Date.now()}-${Math.random()}`;
    stream.button({ command: CHAT_SUBMIT_COMMAND, title: 'Delegate', arguments: [{ key, values, selection }] });
    stream.button({ command: CHAT_EDIT_COMMAND, title: 'Edit in Form', arguments: [values] });
  });
  participant.iconPath = new vscode.ThemeIcon('hubot');
  context.subscriptions.push(
    participant,
    vscode.commands.registerCommand(
      CHAT_SUBMIT_COMMAND,
      async (arg: { key: string; values: FormValues; selection: ReturnType<typeof editorSelection> }) => {
        // One confirmation, one PR: a second click on the same answer does nothing.
        if (used.has(arg.key)) return void vscode.window.showInformationMessage('Kiro: this task was already delegated.');
        const checked = validateForm(arg.values);
        if (!checked.ok) return flow.open(arg.values);
        used.add(arg.key);
        try {
          await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'Kiro: creating the pull request…' },
            () => flow.submit(checked.value, arg.selection),
          );
        } catch (e) {
          used.delete(arg.key);
          vscode.window.showErrorMessage(`Kiro could not delegate: ${(e as Error).message}`);
        }
      },
    ),
    vscode.commands.registerCommand(CHAT_EDIT_COMMAND, (values: Partial<FormValues>) => flow.open(values)),
  );
}

function status(services: Services, stream: vscode.ChatResponseStream): void {
  const entries = statusEntries(services.store.all());
  if (entries.length === 0) return void stream.markdown('Nothing delegated yet. Say `@kiro /delegate <what to do>`.');
  for (const e of entries) {
    stream.markdown(`${e.markdown}\n\n`);
    for (const b of e.buttons) stream.button({ command: b.command, title: b.title, arguments: [b.arg] });
  }
}

async function followUp(services: Services, text: string, stream: vscode.ChatResponseStream): Promise<void> {
  const parsed = parseFollowUp(text);
  if (!parsed.ok) return void stream.markdown(parsed.message);
  const ws = await workspaceDefaults(services);
  const d = findByPr(services.store.all(), parsed.prNumber, ws.owner ? ws : undefined);
  if (!d) return void stream.markdown(`No delegation of yours is on PR #${parsed.prNumber}. \`@kiro /status\` lists them.`);
  const github = await services.github(true);
  if (!github) return void stream.markdown('Not signed in to GitHub: sign in (or run "Kiro: Set GitHub Token") and ask again.');
  stream.progress(`Sending the follow-up to PR #${d.prNumber}…`);
  try {
    const sent = await sendFollowUp(d, parsed.instructions, {
      github,
      worker: () => services.worker(),
      store: services.store,
      log: (m) => services.log.info(m),
      onSendProblem: (x, o) => notifySendProblem(services, x, o),
    });
    services.watcher.start();
    void sent.sending.finally(() => services.watcher.start());
    stream.markdown(`Follow-up ${sent.round - 1} added to [PR #${d.prNumber}](${d.prUrl}); the agent is on it.`);
    stream.button({ command: 'kiroDelegate.showAgentOutput', title: 'Show Agent Output', arguments: [{ id: d.id }] });
  } catch (e) {
    stream.markdown(`Kiro could not send the follow-up: ${DelegateError.is(e) ? e.message : (e as Error).message}`);
  }
}
