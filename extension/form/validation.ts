// The delegation form's rules, shared by the webview (instant feedback) and the
// extension (the authority before anything reaches GitHub).
import { isValidBranchName, isValidOwner, isValidRepo } from '../../shared/names.js';
import type { FieldName, FormValues } from '../../shared/webviewProtocol.js';

export type FieldErrors = Partial<Record<FieldName, string>>;

export interface ValidForm {
  owner: string;
  repo: string;
  baseBranch: string;
  title: string;
  objective: string;
  prTitle: string;
  constraints: string[];
  acceptanceCriteria: string[];
}

/**
 * What makes two submissions "the same task" for the form's second-PR check: the
 * repository (GitHub names are case-insensitive), the base branch, title and objective.
 */
export function submissionKey(v: Pick<ValidForm, 'owner' | 'repo' | 'baseBranch' | 'title' | 'objective'>): string {
  return JSON.stringify([v.owner.toLowerCase(), v.repo.toLowerCase(), v.baseBranch, v.title, v.objective]);
}

/** One item per line; "- ", "* " and "- [ ] " bullets are dropped, blank lines ignored. */
export function listItems(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s*(?:[-*]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)/, '').trim())
    .filter((l) => l.length > 0);
}

export function validateForm(values: FormValues): { ok: true; value: ValidForm } | { ok: false; errors: FieldErrors } {
  const v = Object.fromEntries(Object.entries(values).map(([k, x]) => [k, typeof x === 'string' ? x.trim() : ''])) as unknown as FormValues;
  const errors: FieldErrors = {};
  if (!v.owner) errors.owner = 'Owner is required.';
  else if (!isValidOwner(v.owner)) errors.owner = 'Not a GitHub account name (letters, digits and single hyphens).';
  if (!v.repo) errors.repo = 'Repository is required.';
  else if (!isValidRepo(v.repo)) errors.repo = 'Not a repository name (letters, digits, ".", "_" and "-").';
  if (!v.baseBranch) errors.baseBranch = 'Base branch is required.';
  else if (!isValidBranchName(v.baseBranch)) errors.baseBranch = 'Not a valid branch name.';
  if (!v.title) errors.title = 'Give the task a title.';
  else if (v.title.length > 200) errors.title = 'Keep the title under 200 characters.';
  else if (/[\u0000-\u001f\u007f]/.test(v.title)) errors.title = 'The title cannot contain control characters.';
  if (!v.objective) errors.objective = 'Describe what the agent should achieve.';
  else if (v.objective.length > 20_000) errors.objective = 'Keep the objective under 20,000 characters.';
  if (v.prTitle.length > 256) errors.prTitle = 'Keep the PR title under 256 characters.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      owner: v.owner,
      repo: v.repo,
      baseBranch: v.baseBranch,
      title: v.title,
      objective: v.objective,
      prTitle: v.prTitle || v.title,
      constraints: listItems(values.constraints),
      acceptanceCriteria: listItems(values.acceptanceCriteria),
    },
  };
}
