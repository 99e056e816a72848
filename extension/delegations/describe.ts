// What the Kiro view says about a delegation, as plain text (tested without VS Code):
// queued — N ahead · preparing · running m:ss · pushing · pushed · no changes ·
// failed — reason · cancelled · PR merged / closed.
import type { Delegation } from './model.js';

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
  // eslint-disable-next-line no-control-regex -- the agent's text may hold any control character
  const flat = summary.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The "pushed" notification: the PR and its title, then what the agent said it did. */
export function pushedMessage(d: Pick<Delegation, 'prNumber' | 'title'>, summary?: string): string {
  const said = summary ? summaryLine(summary) : '';
  return `Kiro pushed code to PR #${d.prNumber}: ${d.title}${said ? ` — ${said}` : ''}`;
}
