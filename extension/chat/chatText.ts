// The @kiro chat participant's and the language-model tools' logic, as plain TypeScript:
// reading a chat request, the /status answer, the tools' input checks and their results.
// The glue (participant.ts, tools.ts) only renders what this returns.
import { validateForm, type ValidForm } from '../form/validation.js';
import type { FormValues } from '../../shared/webviewProtocol.js';
import type { SubmitResult } from '../../shared/webviewProtocol.js';
import { describeState } from '../delegations/describe.js';
import { ACTIVE, type Delegation } from '../delegations/model.js';
import { escapeMarkdownInline } from '../../shared/markdown.js';

export type ChatCommand = 'delegate' | 'status' | 'followup';

/** The chat request's slash command; plain text means /delegate. */
export function chatCommand(command: string | undefined): ChatCommand {
  return command === 'status' || command === 'followup' ? command : 'delegate';
}

export type FollowUpRequest = { ok: true; prNumber: number; instructions: string } | { ok: false; message: string };

/** `/followup 12 do x` (also `#12`): the PR number, then what to do. */
export function parseFollowUp(text: string): FollowUpRequest {
  const m = /^\s*#?(\d{1,9})\b[\s:,-]*([\s\S]*)$/.exec(text);
  if (!m)
    return {
      ok: false,
      message: 'Say which pull request first: `/followup <PR number> <instructions>`, e.g. `/followup 12 also handle an empty password`.',
    };
  const instructions = (m[2] ?? '').trim();
  if (!instructions)
    return { ok: false, message: `Say what the agent should do next on PR #${m[1]}: \`/followup ${m[1]} <instructions>\`.` };
  return { ok: true, prNumber: Number(m[1]), instructions };
}

/** The delegation a follow-up is for: the newest one on that PR number (in this workspace's repository, if known). */
export function findByPr(
  delegations: readonly Delegation[],
  prNumber: number,
  repo?: { owner: string; repo: string },
): Delegation | undefined {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const onPr = delegations.filter((d) => d.prNumber === prNumber);
  return (repo && onPr.find((d) => same(d.owner, repo.owner) && same(d.repo, repo.repo))) ?? onPr[0];
}

const TITLE_MAX = 80;

/** A task's title and objective from chat text: the first line (cut at a word) is the title, the whole text the objective. */
export function draftFromText(text: string): { title: string; objective: string } {
  const objective = text.trim();
  const first = (objective.split(/\r?\n/)[0] ?? '').trim().replace(/[.:;,]+$/, '');
  if (first.length <= TITLE_MAX) return { title: first, objective };
  const cut = first.slice(0, TITLE_MAX - 1);
  return { title: `${cut.slice(0, cut.lastIndexOf(' ') > 40 ? cut.lastIndexOf(' ') : cut.length)}…`, objective };
}

export interface WorkspaceDefaults {
  owner: string;
  repo: string;
  baseBranch: string;
}

/** The form's values from chat text and the workspace: what /delegate prefills and, when valid, submits. */
export function chatFormValues(text: string, ws: WorkspaceDefaults): FormValues {
  const { title, objective } = draftFromText(text);
  return {
    owner: ws.owner,
    repo: ws.repo,
    baseBranch: ws.baseBranch,
    title,
    objective,
    prTitle: '',
    constraints: '',
    acceptanceCriteria: '',
  };
}

/** The /delegate answer's summary of the task to confirm (every text from outside escaped). */
export function taskSummary(v: ValidForm): string {
  const md = escapeMarkdownInline;
  const list = (name: string, items: string[]) => (items.length ? [`**${name}**`, ...items.map((i) => `- ${md(i)}`)] : []);
  return [
    `**${md(v.title)}** → a pull request on \`${v.owner}/${v.repo}\` from \`${v.baseBranch}\``,
    '',
    md(v.objective),
    ...list('Constraints', v.constraints),
    ...list('Acceptance criteria', v.acceptanceCriteria),
  ].join('\n');
}

export interface StatusButton {
  title: string;
  command: 'kiroDelegate.showAgentOutput' | 'kiroDelegate.cancelJob' | 'kiroDelegate.sendFollowUp' | 'kiroDelegate.openPr';
  arg: { id: string };
}

export interface StatusEntry {
  markdown: string;
  buttons: StatusButton[];
}

/** /status: each delegation's line (PR link, title, state) and the actions that apply to it, newest first. */
export function statusEntries(delegations: readonly Delegation[], now = Date.now(), limit = 10): StatusEntry[] {
  const md = escapeMarkdownInline;
  return delegations.slice(0, limit).map((d) => {
    const arg = { id: d.id };
    const buttons: StatusButton[] = [];
    if (d.jobId) buttons.push({ title: 'Show Agent Output', command: 'kiroDelegate.showAgentOutput', arg });
    if (d.jobId && ACTIVE.has(d.state)) buttons.push({ title: 'Cancel', command: 'kiroDelegate.cancelJob', arg });
    if (d.state !== 'closed' && d.state !== 'creating')
      buttons.push({ title: 'Send Follow-up', command: 'kiroDelegate.sendFollowUp', arg });
    return {
      markdown: `[PR #${d.prNumber}](${d.prUrl}) **${md(d.title)}** · ${md(d.owner)}/${md(d.repo)} · ${md(describeState(d, now))}`,
      buttons,
    };
  });
}

/** What kiro_status returns to the calling agent: one plain record per delegation. */
export function statusRecords(delegations: readonly Delegation[], now = Date.now(), limit = 20) {
  return delegations.slice(0, limit).map((d) => ({
    prNumber: d.prNumber,
    prUrl: d.prUrl,
    repository: `${d.owner}/${d.repo}`,
    branch: d.branch,
    title: d.title,
    state: d.state,
    description: describeState(d, now),
    ...(d.jobId ? { jobId: d.jobId } : {}),
    ...(d.round && d.round > 1 ? { round: d.round } : {}),
  }));
}

/** kiro_delegate's input, as its inputSchema in package.json declares it. */
export interface DelegateToolInput {
  title?: unknown;
  objective?: unknown;
  constraints?: unknown;
  acceptanceCriteria?: unknown;
  repository?: unknown;
  baseBranch?: unknown;
}

/** A string list the model may give as an array or as lines. */
function lines(x: unknown): string {
  if (Array.isArray(x)) return x.filter((i): i is string => typeof i === 'string').join('\n');
  return typeof x === 'string' ? x : '';
}

/** Checks kiro_delegate's input with the form's own rules; repository ("owner/name") and base branch default to the workspace's. */
export function delegateToolForm(
  input: DelegateToolInput,
  ws: WorkspaceDefaults,
): { ok: true; value: ValidForm } | { ok: false; message: string } {
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  const [owner, repo] = str(input.repository).trim() ? str(input.repository).trim().split('/', 2) : [ws.owner, ws.repo];
  const checked = validateForm({
    owner: owner ?? '',
    repo: repo ?? '',
    baseBranch: str(input.baseBranch).trim() || ws.baseBranch,
    title: str(input.title),
    objective: str(input.objective),
    prTitle: '',
    constraints: lines(input.constraints),
    acceptanceCriteria: lines(input.acceptanceCriteria),
  });
  if (checked.ok) return checked;
  const errors = Object.entries(checked.errors).map(
    ([field, why]) => `${field === 'owner' || field === 'repo' ? 'repository' : field}: ${why}`,
  );
  return { ok: false, message: `kiro_delegate was not run: ${[...new Set(errors)].join(' ')}` };
}

/** kiro_delegate's result for the calling agent. */
export function delegateToolResult(
  r: SubmitResult,
  d: Pick<Delegation, 'owner' | 'repo' | 'baseBranch' | 'state'> & { jobId?: string; problem?: string },
) {
  return {
    prUrl: r.prUrl,
    prNumber: r.number,
    branch: r.branchName,
    repository: `${d.owner}/${d.repo}`,
    baseBranch: d.baseBranch,
    confirmationCode: r.confirmationCode,
    state: d.state,
    ...(d.jobId ? { jobId: d.jobId } : {}),
    ...(d.problem ? { problem: d.problem } : {}),
  };
}
