// "Kiro: Show Agent Output": a VS Code terminal (a Pseudoterminal, no shell) that
// replays the job's terminal output and follows it live; closing it never stops
// the job. The reading, reconnecting and resuming live in LogFollower.
import * as vscode from 'vscode';
import type { Delegation } from '../delegations/model.js';
import { LogFollower, describeJobEnd, describeJobUsage } from '../worker/logFollower.js';
import type { WorkerApi } from '../worker/client.js';

const open = new Map<string, vscode.Terminal>();

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;

/** What the terminal needs: a delegation, or any job the worker runs (from the pool picker). */
export type AgentOutputTarget = Pick<Delegation, 'id' | 'jobId' | 'prNumber' | 'owner' | 'repo' | 'branch'>;

export function showAgentOutput(d: AgentOutputTarget, worker: WorkerApi): void {
  // One terminal per job: after a follow-up, the new round gets its own.
  const key = d.jobId ?? d.id;
  const existing = open.get(key);
  if (existing && existing.exitStatus === undefined) {
    existing.show();
    return;
  }
  const jobId = d.jobId;
  const writeEmitter = new vscode.EventEmitter<string>();
  let follower: LogFollower | undefined;
  const pty: vscode.Pseudoterminal = {
    onDidWrite: writeEmitter.event,
    open: () => {
      if (!jobId) {
        writeEmitter.fire(dim(`PR #${d.prNumber} has not reached the worker yet; use "Retry Sending".\r\n`));
        return;
      }
      writeEmitter.fire(dim(`Kiro agent for PR #${d.prNumber} · ${d.owner}/${d.repo} · ${d.branch} · job ${jobId.slice(0, 8)} · Ctrl+C cancels the job (asks first)\r\n`));
      follower = new LogFollower({
        source: worker,
        jobId,
        onData: (text) => writeEmitter.fire(text),
        onEnd: (job, reason) => {
          writeEmitter.fire(`\r\n${bold(`[kiro] ${job ? describeJobEnd(job) : reason ?? 'the log ended'}`)}\r\n`);
          // The last line: what the agent used, or that it does not say.
          if (job) writeEmitter.fire(`${dim(`[kiro] ${describeJobUsage(job)}`)}\r\n`);
        },
        onReconnecting: (attempt, delayMs) => {
          if (attempt === 1 || attempt % 5 === 0) writeEmitter.fire(dim(`\r\n[kiro] connection to the worker lost; reconnecting in ${Math.round(delayMs / 100) / 10} s…\r\n`));
        },
      });
      void follower.start();
    },
    // The agent takes no input from here; Ctrl+C offers to cancel the job (the command asks first).
    handleInput: (data) => {
      if (data === '\x03' && !d.id.startsWith('job:')) void vscode.commands.executeCommand('kiroDelegate.cancelJob', { id: d.id });
    },
    // Closing the terminal stops reading, never the job.
    close: () => {
      follower?.dispose();
      writeEmitter.dispose();
      open.delete(key);
    },
  };
  const terminal = vscode.window.createTerminal({ name: `Kiro: PR #${d.prNumber}`, pty, iconPath: new vscode.ThemeIcon('hubot'), isTransient: true });
  open.set(key, terminal);
  terminal.show();
}
