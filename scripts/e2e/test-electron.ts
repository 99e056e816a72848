// The host suite (test/e2e/host/suite.ts) through @vscode/test-electron, the
// standard runner for extension tests, on a desktop VS Code it downloads. That
// download is not possible on this project's CI machines (no network but the
// package registries), where test/e2e/host.e2e.ts runs the same bundle in
// code-server instead. Usage: npm run build && npx tsx scripts/e2e/test-electron.ts
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { GitHubStandIn } from '../../test/support/github/server.js';
import { gitWithToken, tempDir } from '../../test/support/helpers.js';
import { repoRoot } from '../../test/support/paths.js';

const gh = await GitHubStandIn.start();
try {
  const alice = gh.addUser('alice');
  await gh.createRepo('alice', 'app');
  const workspace = join(await tempDir(), 'app');
  await gitWithToken(['clone', '--quiet', `${gh.gitBaseUrl}/alice/app.git`, workspace], alice.token);
  await runTests({
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'dist', 'test', 'host-suite.cjs'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} finally {
  await gh.close();
}
