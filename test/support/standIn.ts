// The set-up most worker tests share: a GitHub stand-in with alice's repository alice/app
// (one README) and the worker's bot account, which may write to it.
import { GitHubStandIn } from './github/server.js';

export interface AliceApp {
  gh: GitHubStandIn;
  /** The worker's GitHub credential (KIRO_GITHUB_TOKEN). */
  botToken: string;
}

export async function standInWithAliceApp(opts: { private?: boolean } = {}): Promise<AliceApp> {
  const gh = await GitHubStandIn.start();
  gh.addUser('alice');
  const botToken = gh.addUser('kiro-bot').token;
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }], private: opts.private });
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  return { gh, botToken };
}
