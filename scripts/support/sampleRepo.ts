// The demo's GitHub: a developer, the worker's bot and the repository demo/sample-app,
// made in a GitHub stand-in by `npm run demo` and `npm run cluster` alike (so the demo
// can delegate to a cluster's hosts through the cluster's stand-in).
import type { GitHubStandIn } from '../../test/support/github/server.js';

export const SAMPLE = { owner: 'demo', repo: 'sample-app', devToken: 'ghp_demo_dev_token', botToken: 'ghp_demo_bot_token' } as const;
export const SAMPLE_LOGIN_TS = 'export function login() {\n  // TODO\n}\n';

export async function seedSampleRepo(gh: GitHubStandIn): Promise<void> {
  gh.addUser('demo-dev', SAMPLE.devToken);
  gh.addUser('kiro-bot', SAMPLE.botToken);
  await gh.createRepo(SAMPLE.owner, SAMPLE.repo, {
    files: [
      { path: 'README.md', contents: '# sample-app\n' },
      { path: 'src/login.ts', contents: SAMPLE_LOGIN_TS },
    ],
  });
  gh.grant(SAMPLE.owner, SAMPLE.repo, 'demo-dev', 'WRITE');
  gh.grant(SAMPLE.owner, SAMPLE.repo, 'kiro-bot', 'WRITE');
}
