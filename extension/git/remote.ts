// Owner and repository from a git remote URL (https, ssh, scp-like), for prefilling the form.
export interface RemoteRepo {
  host: string;
  owner: string;
  repo: string;
}

export function parseGitHubRemote(url: string): RemoteRepo | undefined {
  const trimmed = url.trim();
  const scp = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(trimmed);
  if (scp?.[1] && scp[2] && scp[3]) return { host: scp[1], owner: scp[2], repo: scp[3] };
  try {
    const u = new URL(trimmed);
    const parts = u.pathname
      .replace(/^\/+|\/+$/g, '')
      .replace(/\.git$/, '')
      .split('/');
    if (parts.length < 2) return undefined;
    const [owner, repo] = parts.slice(-2);
    return owner && repo ? { host: u.hostname, owner, repo } : undefined;
  } catch {
    return undefined;
  }
}

/** The remote to prefer: "origin" first, then "upstream", then any. */
export function pickRemote<T extends { name: string; fetchUrl?: string; pushUrl?: string }>(remotes: readonly T[]): T | undefined {
  return remotes.find((r) => r.name === 'origin') ?? remotes.find((r) => r.name === 'upstream') ?? remotes[0];
}
