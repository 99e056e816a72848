// The set-up most worker tests share: a GitHub stand-in with alice's repository alice/app
// (one README) and the worker's bot account, which may write to it.
import { GitHubStandIn } from './github/server.js';

export interface AliceApp {
  gh: GitHubStandIn;
  /** The worker's GitHub credential (KIRO_GITHUB_TOKEN). */
  botToken: string;
  /** The repository's owner, as a user of the stand-in (her token asks GitHub as she would). */
  alice: { login: string; token: string };
}

export async function standInWithAliceApp(opts: { private?: boolean } = {}): Promise<AliceApp> {
  const gh = await GitHubStandIn.start();
  const alice = gh.addUser('alice');
  const botToken = gh.addUser('kiro-bot').token;
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }], private: opts.private });
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  return { gh, botToken, alice };
}
