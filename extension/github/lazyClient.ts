import type * as ClientTypes from './client.js';

// Octokit is most of the extension's code: it lives in its own file (dist/github-client.js,
// built from github/client.ts) and loads when GitHub is first needed, not at activation.
type ClientModule = typeof ClientTypes;

let clientModule: ClientModule | undefined;

/** github/client.ts's exports, required from the separate bundle on first call. */
export function loadGitHubClient(): ClientModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deliberate lazy load of a separate bundle
  clientModule ??= require('./github-client.js') as ClientModule;
  return clientModule;
}
