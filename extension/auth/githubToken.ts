// The user's GitHub token: from VS Code's GitHub sign-in (no personal token), or,
// where the editor has no GitHub sign-in provider (code-server, VSCodium and other
// builds), from a token the user pasted once, kept in SecretStorage.
export interface SessionLike {
  accessToken: string;
  account: { label: string };
}

export interface TokenSources {
  /** vscode.authentication.getSession, bound to a provider id and scopes. */
  getSession: (opts: { createIfNone: boolean; silent?: boolean }) => Promise<SessionLike | undefined>;
  /** The pasted fallback token (SecretStorage). */
  storedToken: () => Promise<string | undefined>;
  /** false where the editor's GitHub sign-in cannot work (see hasGitHubSignIn): getSession is not even asked. */
  signInAvailable?: boolean;
  timeoutMs?: number;
}

export interface EditorFacts {
  /** vscode.env.appName, e.g. "Visual Studio Code", "code-server", "VSCodium". */
  appName: string;
  /** Whether the built-in GitHub Authentication extension (vscode.github-authentication) is installed. */
  githubAuthExtension: boolean;
}

/**
 * Whether VS Code's GitHub sign-in can work in this editor. code-server, VSCodium and
 * OpenVSCode Server ship the GitHub Authentication extension, but its OAuth flow
 * returns to Microsoft's VS Code only: asking it for a session shows a sign-in (or a
 * "GitHub Enterprise Server" URI prompt) that cannot succeed. There the token path is the way.
 */
export function hasGitHubSignIn(facts: EditorFacts): boolean {
  if (!facts.githubAuthExtension) return false;
  return !/code-server|codium|openvscode/i.test(facts.appName);
}

export type TokenResult =
  | { kind: 'token'; token: string; source: 'session' | 'stored'; account?: string }
  | { kind: 'none'; reason: 'no-provider' | 'not-signed-in' | 'cancelled' };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}

/**
 * A stored token wins (the user chose it, or the editor has no provider); then the
 * sign-in session, silently unless `interactive`. A provider that never registers
 * (code-server) times out and is reported as such, so the caller can offer the fallback.
 */
export async function resolveGitHubToken(sources: TokenSources, interactive: boolean): Promise<TokenResult> {
  const stored = await sources.storedToken();
  if (stored) return { kind: 'token', token: stored, source: 'stored' };
  if (sources.signInAvailable === false) return { kind: 'none', reason: 'no-provider' };
  try {
    const session = await withTimeout(
      sources.getSession(interactive ? { createIfNone: true } : { createIfNone: false, silent: true }),
      sources.timeoutMs ?? (interactive ? 120_000 : 5_000),
    );
    if (session) return { kind: 'token', token: session.accessToken, source: 'session', account: session.account.label };
    return { kind: 'none', reason: 'not-signed-in' };
  } catch (e) {
    const message = (e as Error).message ?? '';
    if (/timeout|no authentication provider|timed out waiting for authentication provider/i.test(message))
      return { kind: 'none', reason: 'no-provider' };
    if (/cancel/i.test(message)) return { kind: 'none', reason: 'cancelled' };
    return { kind: 'none', reason: 'no-provider' };
  }
}
