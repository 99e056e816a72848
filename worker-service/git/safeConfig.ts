// What the service's own git runs with in a checkout: config that keeps an agent's tree
// from making it run anything, and the job's push credential as a header (never a URL).
export interface Credentials {
  /** Token for `Authorization: Basic x-access-token:<token>`, as GitHub accepts. */
  token: string | undefined;
}

/** Config for every git call we make in a checkout: hooks the agent may have written never run. */
// feature.manyFiles (index v4, untracked cache) trims the scans of big worktrees.
// Nothing an agent writes into its tree may make the service's own git run a program: no hooks,
// no file-system monitor, and never a look inside a nested repository (whose config the agent
// controls): submodules are ignored and recursion is off.
export const SAFE_CONFIG: Record<string, string> = {
  'core.hooksPath': '/dev/null',
  'core.fsmonitor': 'false',
  'diff.ignoreSubmodules': 'all',
  'submodule.recurse': 'false',
  'status.submoduleSummary': 'false',
  'gc.auto': '0',
  'maintenance.auto': 'false',
  'feature.manyFiles': 'true',
};

export function credentialConfig(creds: Credentials): Record<string, string> {
  if (!creds.token) return {};
  const basic = Buffer.from(`x-access-token:${creds.token}`).toString('base64');
  return { 'http.extraHeader': `Authorization: Basic ${basic}` };
}
