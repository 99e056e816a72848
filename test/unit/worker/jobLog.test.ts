// The job log is one byte sequence: the file, a replay and live output agree, and
// a reader resumes at any byte offset, across an earlier attempt (a restart) and
// inside multi-byte characters.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobLog } from '../../../worker-service/jobs/log.js';
import { tempDir } from '../../support/helpers.js';

function collect(log: JobLog, offset: number): { bytes: () => Buffer; ended: () => boolean; stop: () => void } {
  const parts: Buffer[] = [];
  let ended = false;
  const stop = log.follow(
    (b) => parts.push(b),
    () => (ended = true),
    offset,
  );
  return { bytes: () => Buffer.concat(parts), ended: () => ended, stop };
}

describe('job log offsets', () => {
  it("replays from any offset, across the previous attempt's bytes and inside a multi-byte character, then follows", async () => {
    const path = join(await tempDir(), 'job.log');
    const first = new JobLog(path);
    first.write('attempt 1: héllo\r\n');
    await first.close();
    // A restart: the next attempt appends to the same file.
    const log = new JobLog(path);
    let all = Buffer.from('attempt 1: héllo\r\n');
    const write = (t: string) => {
      log.write(t);
      all = Buffer.concat([all, Buffer.from(t)]);
    };
    write('attempt 2: ✓ wörld\r\n');
    const end = all.length;
    for (let offset = 0; offset <= end; offset++) {
      const r = collect(log, offset);
      const before = all;
      write(`+${offset}`); // live output after the replay
      r.stop();
      assert.deepEqual(r.bytes(), all.subarray(offset), `offset ${offset} of ${before.length}`);
    }
    const live = collect(log, log.size);
    log.write('end');
    await log.close();
    assert.equal(live.bytes().toString(), 'end');
    assert.equal(live.ended(), true);
    assert.equal(log.size, all.length + 3);
    assert.deepEqual(readFileSync(path), Buffer.concat([all, Buffer.from('end')]), 'the file is the same byte sequence');
  });

  it('caps the log for everyone alike (file, replay, live) and says where it stopped', async () => {
    const path = join(await tempDir(), 'job.log');
    const log = new JobLog(path, 10);
    const live = collect(log, 0);
    log.write('0123456789');
    log.write('over the cap');
    assert.equal(log.totalBytes, 22);
    await log.close();
    const file = readFileSync(path);
    assert.match(
      file.toString(),
      /^0123456789\r\n\x1b_kiro-note \{"text":"log truncated: the agent printed more than the limit"\}\x1b\\\r\n$/,
    );
    assert.deepEqual(live.bytes(), file);
  });
});
