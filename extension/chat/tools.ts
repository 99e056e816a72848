// The language-model tools kiro_delegate, kiro_status and kiro_follow_up (contributes.languageModelTools):
// each confirms before it acts (prepareInvocation), then answers the calling agent with JSON text.
import * as vscode from 'vscode';
import { sendFollowUp } from '../delegations/followUp.js';
import type { DelegateFlow } from '../commands/delegate.js';
import type { Services } from '../services.js';
import { notifySendProblem } from '../ui/notifications.js';
import {
  delegateToolForm,
  delegateToolResult,
  findByPr,
  parseFollowUp,
  statusRecords,
  taskSummary,
  type DelegateToolInput,
} from './chatText.js';
import { workspaceDefaults } from './workspaceDefaults.js';

/** How long kiro_delegate waits for the worker to accept the job before answering without its id. */
const SEND_WAIT_MS = 15_000;

const text = (value: unknown) =>
  new vscode.LanguageModelToolResult([
    new vscode.LanguageModelTextPart(typeof value === 'string' ? value : JSON.stringify(value, null, 2)),
  ]);

interface FollowUpInput {
  prNumber?: unknown;
  instructions?: unknown;
}

export function registerTools(context: vscode.ExtensionContext, services: Services, flow: DelegateFlow): void {
  const delegateTool: vscode.LanguageModelTool<DelegateToolInput> = {
    async prepareInvocation(options) {
      const checked = delegateToolForm(options.input, await workspaceDefaults(services));
      if (!checked.ok) return { invocationMessage: 'Checking the task for Kiro' };
      return {
        invocationMessage: `Delegating "${checked.value.title}" to Kiro`,
        confirmationMessages: {
          title: 'Delegate to Kiro?',
          message: new vscode.MarkdownString(`Kiro opens a pull request and an agent works on it:\n\n${taskSummary(checked.value)}`),
        },
      };
    },
    async invoke(options) {
      const checked = delegateToolForm(options.input, await workspaceDefaults(services));
      if (!checked.ok) return text(checked.message);
      const done = await flow.submit(checked.value, null);
      // The job's id comes with the worker's answer: wait for it a little (it usually takes a moment).
      await Promise.race([done.sending, new Promise((r) => setTimeout(r, SEND_WAIT_MS))]);
      return text(delegateToolResult(done.result, services.store.get(done.delegation.id) ?? done.delegation));
    },
  };
  const statusTool: vscode.LanguageModelTool<Record<string, never>> = {
    prepareInvocation: () => ({ invocationMessage: 'Listing your Kiro delegations' }),
    async invoke() {
      await services.syncFromWorker();
      const records = statusRecords(services.store.all());
      return text(records.length ? records : 'No delegations yet.');
    },
  };
  const followUpTool: vscode.LanguageModelTool<FollowUpInput> = {
    prepareInvocation: (options) => {
      const prNumber = typeof options.input.prNumber === 'number' ? options.input.prNumber : '?';
      const instructions = typeof options.input.instructions === 'string' ? options.input.instructions : '';
      return {
        invocationMessage: `Sending a follow-up to PR #${String(prNumber)}`,
        confirmationMessages: {
          title: `Send a follow-up to PR #${String(prNumber)}?`,
          message: new vscode.MarkdownString().appendText(instructions),
        },
      };
    },
    async invoke(options) {
      const parsed = parseFollowUp(
        `${typeof options.input.prNumber === 'number' ? options.input.prNumber : ''} ${typeof options.input.instructions === 'string' ? options.input.instructions : ''}`,
      );
      if (!parsed.ok) return text(parsed.message);
      const ws = await workspaceDefaults(services);
      const d = findByPr(services.store.all(), parsed.prNumber, ws.owner ? ws : undefined);
      if (!d) return text(`No delegation is on PR #${parsed.prNumber} (kiro_status lists them).`);
      const github = await services.github(true);
      if (!github) return text('Not signed in to GitHub.');
      const sent = await sendFollowUp(d, parsed.instructions, {
        github,
        worker: () => services.worker(),
        store: services.store,
        log: (m) => services.log.info(m),
        onSendProblem: (x, o) => notifySendProblem(services, x, o),
      });
      services.watcher.start();
      await Promise.race([sent.sending, new Promise((r) => setTimeout(r, SEND_WAIT_MS))]);
      const now = services.store.get(d.id) ?? sent.delegation;
      return text({
        prNumber: now.prNumber,
        prUrl: now.prUrl,
        round: sent.round,
        state: now.state,
        ...(now.jobId ? { jobId: now.jobId } : {}),
        ...(now.problem ? { problem: now.problem } : {}),
      });
    },
  };
  context.subscriptions.push(
    vscode.lm.registerTool('kiro_delegate', delegateTool),
    vscode.lm.registerTool('kiro_status', statusTool),
    vscode.lm.registerTool('kiro_follow_up', followUpTool),
  );
}
