// "Kiro: Show Agent Output": a VS Code terminal (a Pseudoterminal, no shell) that
// replays the job's terminal output and follows it live; closing it never stops
// the job. The reading, reconnecting and resuming live in LogFollower; what of the
// log the terminal may show (colours and in-line movement, no other escape sequence),
// the worker's notes and the extension's own lines, which the agent cannot imitate,
// in extension/terminal/.
import * as vscode from 'vscode';
import type { Delegation } from '../delegations/model.js';
import { LogFollower, describeJobEnd, describeJobUsage, type LogSource } from '../worker/logFollower.js';
import type { WorkerApi } from '../worker/client.js';
import { TerminalSanitizer } from '../terminal/sanitizer.js';
import { kiroLine } from '../terminal/kiroLines.js';

const open = new Map<string, vscode.Terminal>();

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
  const pty = agentPseudoterminal(d, worker, () => open.delete(key));
  const terminal = vscode.window.createTerminal({
    name: `Kiro: PR #${d.prNumber}`,
    pty,
    iconPath: new vscode.ThemeIcon('hubot'),
    isTransient: true,
  });
  open.set(key, terminal);
  terminal.show();
}

/** The terminal's Pseudoterminal: the job's log from `source`, sanitized, and Kiro's own lines. */
export function agentPseudoterminal(d: AgentOutputTarget, source: LogSource, onClose?: () => void): vscode.Pseudoterminal {
  const jobId = d.jobId;
  const writeEmitter = new vscode.EventEmitter<string>();
  const sanitizer = new TerminalSanitizer();
  const write = (text: string) => {
    if (text) writeEmitter.fire(text);
  };
  let follower: LogFollower | undefined;
  return {
    onDidWrite: writeEmitter.event,
    open: () => {
      if (!jobId) {
        write(sanitizer.line(kiroLine(`PR #${d.prNumber} has not reached the worker yet; use "Retry Sending".`, 'dim')));
        return;
      }
      write(
        sanitizer.line(
          kiroLine(
            `Kiro agent for PR #${d.prNumber} · ${d.owner}/${d.repo} · ${d.branch} · job ${jobId.slice(0, 8)} · Ctrl+C cancels the job (asks first)`,
            'dim',
          ),
        ),
      );
      follower = new LogFollower({
        source,
        jobId,
        onData: (text) => write(sanitizer.push(text)),
        onEnd: (job, reason) => {
          // What a sequence left open held is dropped: the log is over.
          sanitizer.end();
          write(sanitizer.line(kiroLine(`[kiro] ${job ? describeJobEnd(job) : (reason ?? 'the log ended')}`, 'strong')));
          // The last line: what the agent used, or that it does not say.
          if (job) write(sanitizer.line(kiroLine(`[kiro] ${describeJobUsage(job)}`, 'dim')));
        },
        onReconnecting: (attempt, delayMs) => {
          if (attempt === 1 || attempt % 5 === 0)
            write(
              sanitizer.line(kiroLine(`[kiro] connection to the worker lost; reconnecting in ${Math.round(delayMs / 100) / 10} s…`, 'dim')),
            );
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
      onClose?.();
    },
  };
}
