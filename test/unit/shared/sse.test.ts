import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSseParser, readSse, type SseEvent } from '../../../shared/sse.js';

function parseAll(chunks: string[]): { events: SseEvent[]; comments: string[]; retries: number[] } {
  const comments: string[] = [];
  const retries: number[] = [];
  const p = createSseParser({ onComment: (c) => comments.push(c), onRetry: (ms) => retries.push(ms) });
  const events = chunks.flatMap((c) => p.push(c));
  return { events, comments, retries };
}

const stream = [
  ': hello\n',
  'retry: 3000\n',
  'id: 1\nevent: job\ndata: {"a":1}\n\n',
  'data: first line\ndata: second line\n\n',
  'id: 3\nevent: slots\ndata:no-space\n\n',
  ': ping\n\n',
  'data\n\n',
].join('');

const expected: SseEvent[] = [
  { id: '1', event: 'job', data: '{"a":1}' },
  { id: '1', event: 'message', data: 'first line\nsecond line' },
  { id: '3', event: 'slots', data: 'no-space' },
  { id: '3', event: 'message', data: '' },
];

describe('SSE parser (shared/sse.ts)', function () {
  it('reads ids, event names, multi-line data, comments and retry', function () {
    const { events, comments, retries } = parseAll([stream]);
    assert.deepEqual(events, expected);
    assert.deepEqual(comments, ['hello', 'ping']);
    assert.deepEqual(retries, [3000]);
  });

  it('gives the same events whatever the chunking, one character at a time included', function () {
    assert.deepEqual(parseAll([...stream]).events, expected);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 12 }), (cuts) => {
        const at = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => stream.slice(from, at[i] ?? stream.length));
        assert.deepEqual(parseAll(chunks).events, expected);
      }),
    );
  });

  it('accepts CRLF and lone CR line ends, also with a CR and its LF in different chunks', function () {
    for (const eol of ['\r\n', '\r']) {
      const text = stream.replace(/\n/g, eol);
      assert.deepEqual(parseAll([text]).events, expected, JSON.stringify(eol));
      for (let cut = 1; cut < text.length; cut++)
        assert.deepEqual(parseAll([text.slice(0, cut), text.slice(cut)]).events, expected, `${JSON.stringify(eol)} cut at ${cut}`);
    }
    // CR then LF across chunks is one line end, not an empty line that would dispatch early.
    assert.deepEqual(parseAll(['data: a\r', '\ndata: b\r\n\r\n']).events, [{ id: '', event: 'message', data: 'a\nb' }]);
  });

  it('ignores a BOM, unknown fields, ids with NUL and an unfinished last event; an event without data is not dispatched', function () {
    const { events } = parseAll([
      '\uFEFFid: 7\nfoo: bar\ndata: x\n\n',
      'id: a\u0000b\nevent: e\n\n',
      'data: y\n\n',
      'data: never finished\n',
    ]);
    assert.deepEqual(events, [
      { id: '7', event: 'message', data: 'x' },
      { id: '7', event: 'message', data: 'y' },
    ]);
  });

  it('keeps the last event id for a reconnect, and an empty id resets it', function () {
    const p = createSseParser();
    p.push('id: 41\ndata: a\n\nid: 42\n\n');
    assert.equal(p.lastEventId, '42');
    p.push('id\ndata: b\n\n');
    assert.equal(p.lastEventId, '');
  });

  it('reads a byte stream with multi-byte characters split between chunks', async function () {
    const bytes = new TextEncoder().encode('id: 1\ndata: héllo ✓\n\n');
    const chunks = [bytes.slice(0, 14), bytes.slice(14, 20), bytes.slice(20)]; // inside "é" and inside "✓"
    async function* body() {
      yield* chunks;
    }
    const got: SseEvent[] = [];
    for await (const e of readSse(body())) got.push(e);
    assert.deepEqual(got, [{ id: '1', event: 'message', data: 'héllo ✓' }]);
  });
});
