// The repository allow-list (KIRO_REPO_ALLOWLIST): its format, read at start, and the
// request-time question "may this worker work on owner/repo?".
import { ConfigError } from './kinds.js';

export interface RepoRule {
  owner: string;
  /** "*" allows every repository of the owner. */
  repo: string;
}

export function parseAllowlist(raw: string | undefined, name = 'KIRO_REPO_ALLOWLIST'): RepoRule[] | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  return v.split(',').map((entry) => {
    const m = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100}|\*)$/.exec(entry.trim());
    if (!m?.[1] || !m[2]) throw new ConfigError(name, `entries are "owner/repo" or "owner/*", got ${JSON.stringify(entry.trim())}`);
    return { owner: m[1].toLowerCase(), repo: m[2].toLowerCase() };
  });
}

/** No list: every repository. Names compare without case, as GitHub's do. */
export function repoAllowed(rules: RepoRule[] | undefined, owner: string, repo: string): boolean {
  if (!rules) return true;
  const o = owner.toLowerCase();
  const r = repo.toLowerCase();
  return rules.some((rule) => rule.owner === o && (rule.repo === '*' || rule.repo === r));
}
