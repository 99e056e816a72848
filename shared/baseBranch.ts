// Which base branch the delegation form proposes, which others it offers, and when
// it warns. Used by the extension (prefill) and the webview (the warning follows
// what the user types), so it is plain and imports nothing.

export interface BaseBranchFacts {
  /** The setting kiroDelegate.baseBranch; '' when unset. It wins when set. */
  setting: string;
  /** The repository's default branch on GitHub; undefined while unknown (no token, offline, not looked up yet). */
  defaultBranch?: string | null;
  /** The branch checked out in the workspace. */
  currentBranch?: string;
  /** Whether the current branch exists on GitHub; undefined while unknown. */
  currentOnRemote?: boolean;
  /** The prefix of Kiro's own branches (kiroDelegate.branchPrefix). */
  kiroPrefix: string;
}

export interface BaseBranchChoice {
  value: string;
  /** Other branches worth one click, in order: the default branch, the current branch when it is on GitHub. */
  suggestions: string[];
}

/** Whether a branch is one Kiro made (a delegation's own, unmerged work). */
export function isKiroBranch(branch: string, kiroPrefix: string): boolean {
  return kiroPrefix !== '' && branch.startsWith(kiroPrefix);
}

/**
 * The setting when set; else the repository's default branch; while that is unknown,
 * the workspace's branch unless it is one of Kiro's own (then "main").
 */
export function chooseBaseBranch(f: BaseBranchFacts): BaseBranchChoice {
  const current = f.currentBranch || undefined;
  const fallback = current && !isKiroBranch(current, f.kiroPrefix) ? current : 'main';
  const value = f.setting || f.defaultBranch || fallback;
  const offered = [f.defaultBranch ?? undefined, f.currentOnRemote === true ? current : undefined];
  const suggestions = offered.filter((b, i): b is string => !!b && b !== value && offered.indexOf(b) === i);
  return { value, suggestions };
}

/** The form's warning for a base branch, or undefined. */
export function baseBranchWarning(base: string, facts: { kiroPrefix: string; defaultBranch?: string | null }): string | undefined {
  const b = base.trim();
  if (!isKiroBranch(b, facts.kiroPrefix)) return undefined;
  const instead = facts.defaultBranch ? ` Use "${facts.defaultBranch}" unless you mean to build on it.` : '';
  return `"${b}" is one of Kiro's own branches (prefix "${facts.kiroPrefix}"): the new PR would be based on another delegation's unmerged work.${instead}`;
}
