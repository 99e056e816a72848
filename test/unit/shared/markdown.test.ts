// Text from outside in rendered Markdown: no mention, link, image, autolink or HTML survives.
import assert from 'node:assert/strict';
import { escapeMarkdownInline } from '../../../shared/markdown.js';

describe('escapeMarkdownInline', function () {
  it('defuses mentions, links, images, autolinks, HTML and code spans, on one line', function () {
    const cases: [string, string][] = [
      ['@team please look', '@\u200bteam please look'],
      ['![x](http://evil.example/p.png)', '\\!\\[x\\](http:\u200b//evil.example/p.png)'],
      ['[click](https://evil.example)', '\\[click\\](https:\u200b//evil.example)'],
      ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
      ['see www.evil.example', 'see www\u200b.evil.example'],
      ['a `code` span', 'a \\`code\\` span'],
      ['line one\n# heading\r\n> quote', 'line one # heading > quote'.replace('>', '&gt;')],
      ['the agent exited with code 3 (the email@example.com user)', 'the agent exited with code 3 (the email@\u200bexample.com user)'],
    ];
    for (const [input, expected] of cases) assert.equal(escapeMarkdownInline(input), expected, JSON.stringify(input));
  });

  it('leaves ordinary words as they are', function () {
    assert.equal(
      escapeMarkdownInline('could not push to kiro/x-1: rejected (non-fast-forward)'),
      'could not push to kiro/x-1: rejected (non-fast-forward)',
    );
  });
});
