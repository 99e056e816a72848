import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';
import { withTempDir } from '../support/helpers.js';

describe('VSIX package', function () {
  this.timeout(120_000);

  it('holds the bundle, webview assets, README, LICENSE and icon, and nothing else', async function () {
    await withTempDir(async (dir) => {
      const vsix = join(dir, 'kiro-delegate.vsix');
      // As `npm run package` does it.
      const script =
        (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.package ?? '';
      assert.match(script, /--readme-path MARKETPLACE\.md/);
      execFileSync(
        'npx',
        ['vsce', 'package', '--no-dependencies', '--readme-path', 'MARKETPLACE.md', '--allow-missing-repository', '-o', vsix],
        { cwd: repoRoot, stdio: 'pipe' },
      );
      const files = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((f) => !f.endsWith('/'));
      const payload = files.filter((f) => f.startsWith('extension/')).map((f) => f.slice('extension/'.length));
      const allowed =
        /^(dist\/extension\.js|dist\/github-client\.js|dist\/package\.json|dist\/webview\/.+|media\/.+|readme\.md|README\.md|LICENSE(\.txt)?|changelog\.md|package\.json)$/;
      assert.deepEqual(
        payload.filter((f) => !allowed.test(f)),
        [],
        'unexpected files in the VSIX',
      );
      for (const needed of ['dist/extension.js', 'dist/github-client.js', 'package.json', 'media/icon.png'])
        assert.ok(payload.includes(needed), `${needed} missing from ${payload.join(', ')}`);
      assert.ok(payload.some((f) => /^readme\.md$/i.test(f)) && payload.some((f) => /^LICENSE/.test(f)));
      // The walkthrough's media (Markdown pages, an SVG) ship with it.
      const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
        contributes: { walkthroughs: { steps: { media: Record<string, string> }[] }[] };
      };
      const media = manifest.contributes.walkthroughs.flatMap((w) =>
        w.steps.map((st) => st.media.markdown ?? st.media.svg ?? st.media.image ?? ''),
      );
      assert.deepEqual(
        media.filter((m) => !payload.includes(m)),
        [],
        'walkthrough media missing from the VSIX',
      );
      // The Marketplace page is the user's README, not the repository's (which is for contributors too).
      const readme = files.find((f) => /^extension\/readme\.md$/i.test(f)) ?? '';
      const shipped = execFileSync('unzip', ['-p', vsix, readme], { encoding: 'utf8' });
      assert.equal(shipped.split('\n')[0], readFileSync(join(repoRoot, 'MARKETPLACE.md'), 'utf8').split('\n')[0]);
      assert.match(shipped, /Delegate Selection to Kiro/);
      assert.doesNotMatch(shipped, /npm test/, 'no contributor material on the Marketplace page');
      assert.match(
        shipped,
        /https:\/\/github\.com\/kiro-delegate\/kiro-delegate\/raw\/HEAD\/media\/screenshots\/form-prefilled\.png/,
        'screenshots linked where the Marketplace can load them',
      );
      assert.equal(
        payload.some((f) => f.startsWith('media/screenshots/')),
        false,
        'the screenshots stay out of the VSIX',
      );
      for (const forbidden of [/^worker-service\//, /^test\//, /node_modules/, /^shared\//, /\.ts$/]) {
        assert.equal(
          payload.some((f) => forbidden.test(f)),
          false,
          `${forbidden} must not ship`,
        );
      }
    });
  });
});
