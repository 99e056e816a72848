// Validation of the names that reach git and GitHub. Everything a job names is
// checked here before it goes near a process, a path or a URL.

/** GitHub logins and organisation names: 1-39 alphanumerics or single inner hyphens. */
const OWNER_RE = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** GitHub repository names: up to 100 of [A-Za-z0-9._-], never "." or "..". */
const REPO_RE = /^[A-Za-z0-9._-]{1,100}$/;

export function isValidOwner(owner: string): boolean {
  return OWNER_RE.test(owner);
}

/** A user's login: an owner's name, or a GitHub App's bot (`renovate[bot]`), who may ask for work from GitHub. */
export function isValidLogin(login: string): boolean {
  return OWNER_RE.test(login.endsWith('[bot]') ? login.slice(0, -5) : login);
}

export function isValidRepo(repo: string): boolean {
  return REPO_RE.test(repo) && repo !== '.' && repo !== '..' && !repo.toLowerCase().endsWith('.git');
}

/** The longest branch name we accept; GitHub refuses refs much longer than this. */
export const MAX_BRANCH_LENGTH = 200;

/**
 * A branch name that `git check-ref-format --branch` accepts, made stricter where a
 * name could be mistaken for an option or be hard to quote: no leading "-", no
 * whitespace or control characters at all.
 */
export function isValidBranchName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') > MAX_BRANCH_LENGTH) return false;
  if (name.startsWith('-') || name === '@' || name.startsWith('/') || name.endsWith('/')) return false;
  if (name.endsWith('.') || name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  // Control characters, DEL, space-likes and git's forbidden punctuation; and, stricter
  // than git, shell metacharacters: we never use a shell, but logs and people copy names.
  if (/[\u0000-\u0020\u007f~^:?*[\\\s`$;|&<>()'"!#]/u.test(name)) return false;
  for (const part of name.split('/')) {
    if (part.startsWith('.') || part.endsWith('.lock')) return false;
  }
  // Lone surrogates cannot be encoded as UTF-8 and git would see replacement bytes.
  if (!name.isWellFormed()) return false;
  return true;
}

export function fullName(owner: string, repo: string): string {
  return `${owner}/${repo}`;
}
