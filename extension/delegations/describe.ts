// What the Kiro view says about a delegation, as plain text (tested without VS Code):
// queued — N ahead · preparing · running m:ss · pushing · pushed · no changes ·
// failed — reason · cancelled · PR merged / closed.
import { isFinalState } from '../../shared/jobStates.js';
import type { JobState, JobUsage } from '../../shared/protocol.js';
import type { Delegation } from './model.js';
import { escapeMarkdownInline } from '../../shared/markdown.js';

export function elapsed(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function describeState(d: Delegation, now = Date.now()): string {
  const state = describeRoundState(d, now);
  return d.round && d.round > 1 ? `round ${d.round} · ${state}` : state;
}

/** Every round, oldest first, for the item's tooltip. */
export function describeRounds(d: Delegation, now = Date.now()): string[] {
  const rounds = d.rounds ?? [];
  return rounds.map((r, i) => {
    const last = i === rounds.length - 1;
    const what = last ? describeRoundState(d, now) : r.state === 'pushed' ? `pushed ${r.headOid?.slice(0, 7) ?? ''}`.trim() : r.state;
    return `${r.round === 1 ? 'Task' : `Follow-up ${r.round - 1}`}: ${what}`;
  });
}

function describeRoundState(d: Delegation, now: number): string {
  if (d.sendFailed) return 'not sent';
  switch (d.state) {
    case 'creating':
      return 'creating';
    case 'queued':
      if (!d.jobId) return 'sending';
      return d.position ? `queued — ${d.position} ahead` : 'queued — next';
    case 'running':
      if (d.jobState === 'preparing') return 'preparing';
      if (d.jobState === 'pushing') return 'pushing';
      return d.startedAt ? `running ${elapsed(d.startedAt, now)}` : 'running';
    case 'pushed':
      return 'pushed';
    case 'no-changes':
      return 'no changes';
    case 'failed':
      return d.problem ? `failed — ${d.problem}` : 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'closed':
      return d.merged ? 'PR merged' : 'PR closed';
    default: {
      const never: never = d.state;
      return never;
    }
  }
}

/** The agent's final message as one line for a notification: blank runs folded, control characters gone, cut at `max`. */
export function summaryLine(summary: string, max = 300): string {
  const flat = summary
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The "pushed" notification: the PR and its title, then what the agent said it did. */
export function pushedMessage(d: Pick<Delegation, 'prNumber' | 'title'>, summary?: string): string {
  const said = summary ? summaryLine(summary) : '';
  return `Kiro pushed code to PR #${d.prNumber}: ${d.title}${said ? ` — ${said}` : ''}`;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * What an agent used, as the worker reported it: `usage: 12,345 in / 2,345 out tokens · $0.04`.
 * A job that ended without a report says so ("usage not reported by this agent"); one still
 * running without a report says nothing. Never a zero the agent did not report.
 */
export function describeUsage(usage: JobUsage | undefined, jobState: JobState | undefined): string | undefined {
  if (usage) {
    const cost =
      usage.costUsd === undefined ? '' : ` · ${usage.costUsd > 0 && usage.costUsd < 0.005 ? '<$0.01' : `$${usage.costUsd.toFixed(2)}`}`;
    return `usage: ${count(usage.inputTokens)} in / ${count(usage.outputTokens)} out tokens${cost}`;
  }
  return jobState && isFinalState(jobState) ? 'usage not reported by this agent' : undefined;
}

/** The Delegations view item's tooltip, as Markdown lines. */
/** The view item's tooltip, as Markdown lines: every text from outside (title, the worker's and git's words) escaped. */
export function tooltipLines(d: Delegation, now = Date.now()): string[] {
  const usage = d.jobId ? describeUsage(d.usage, d.jobState) : undefined;
  const md = escapeMarkdownInline;
  return [
    `**${md(d.title)}**`,
    `${md(d.owner)}/${md(d.repo)} · PR #${d.prNumber}`,
    `Branch ${md(d.branch)}`,
    `State: ${md(describeState(d, now))}`,
    ...(d.problem ? [md(d.problem)] : []),
    ...describeRounds(d, now).map(md),
    ...(usage ? [usage[0]!.toUpperCase() + usage.slice(1)] : []),
    d.fromWorker ? 'Started from another window or machine (listed by the worker)' : `Confirmation code \`${d.id}\``,
  ];
}
