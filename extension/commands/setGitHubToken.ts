// Kiro: Set GitHub Token — for editors without a GitHub sign-in (code-server, VSCodium).
import { GITHUB_TOKEN_KEY } from '../auth/secretKeys.js';
import { githubEndpoint, readSettings } from '../settings.js';
import { askSecret, type Command } from './command.js';

export const setGitHubToken: Command = {
  id: 'kiroDelegate.setGitHubToken',
  handler:
    ({ context, services }) =>
    async () => {
      const web = githubEndpoint(readSettings()).webUrl;
      const what = `This editor has no GitHub sign-in: paste a GitHub token that can push to the repository (classic: "repo" scope; fine-grained: Contents and Pull requests, read and write; create one at ${web}/settings/tokens).`;
      if (await askSecret(context, GITHUB_TOKEN_KEY, 'Kiro: GitHub Token', what)) services.githubIdentityChanged();
    },
};
