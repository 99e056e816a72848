// Every relative link in the project's Markdown points at a file that exists, and a
// `#fragment` at a heading that exists there (GitHub's anchor rules).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../support/paths.js';

function markdownFiles(): string[] {
  const out = ['README.md', 'MARKETPLACE.md', 'SECURITY.md', 'CHANGELOG.md', 'bench/README.md']
    .map((f) => join(repoRoot, f))
    .filter((f) => existsSync(f));
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(join(repoRoot, 'docs'));
  for (const extra of ['media/marketplace']) if (existsSync(join(repoRoot, extra))) walk(join(repoRoot, extra));
  return out;
}

/** GitHub's heading anchor: lower case, punctuation but hyphens and underscores dropped, spaces to hyphens; repeats get -1, -2. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const body = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, text] of body.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = (text ?? '')
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe('links in the docs', () => {
  it('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8')
        .replace(/^```[\s\S]*?^```/gm, '')
        .replace(/`[^`\n]*`/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        checked++;
        const [path = '', fragment] = target.split('#');
        const resolved = path ? join(dirname(file), decodeURIComponent(path)) : file;
        const where = `${relative(repoRoot, file)} → ${target}`;
        if (!existsSync(resolved)) {
          broken.push(`${where}: no such file`);
          continue;
        }
        if (
          fragment &&
          statSync(resolved).isFile() &&
          resolved.endsWith('.md') &&
          !anchorsOf(readFileSync(resolved, 'utf8')).has(fragment.toLowerCase())
        )
          broken.push(`${where}: no such heading`);
      }
    }
    assert.ok(checked >= 40, `the scan found the links (${checked})`);
    assert.deepEqual(broken, []);
  });

  it("reads GitHub's anchors as GitHub makes them", () => {
    assert.deepEqual(
      [...anchorsOf('# A `code` title: with (punctuation)!\n## Same\n## Same\n```\n# not a heading\n```\n')],
      ['a-code-title-with-punctuation', 'same', 'same-1'],
    );
  });
});
