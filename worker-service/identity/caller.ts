// Who is asking: the worker token's holder (the admin in github mode; in token mode
// everyone who has it), or a GitHub user signed in through a session.
export type Caller = { readonly kind: 'admin'; readonly mode: 'token' | 'github' } | { readonly kind: 'user'; readonly login: string };

/** The caller's name in logs and audit records: a login, `admin` (github mode's worker token), `token` (token mode), or `anonymous`. */
export function callerName(c: Caller | undefined): string {
  if (!c) return 'anonymous';
  return c.kind === 'user' ? c.login : c.mode === 'github' ? 'admin' : 'token';
}

/** GitHub logins compare without case. */
export function sameLogin(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}
