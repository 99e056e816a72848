import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  renderTaskMarkdown,
  parseTaskMarkdown,
  fenceFor,
  languageForPath,
  TaskParseError,
  type TaskFields,
} from '../../../shared/taskMarkdown.js';

const task: TaskFields = {
  title: 'Add a login form',
  objective: 'Users sign in with e-mail and password.\n\n## Not a section\nThis line is part of the objective.',
  constraints: ['No new dependencies', 'Keep the bundle small\nunder 50 KB'],
  acceptanceCriteria: ['Form validates e-mail', 'Errors show next to fields'],
  confirmationCode: 'PR1764000000000',
};

describe('TASK.md', function () {
  it('renders title, objective, constraints and a checklist of acceptance criteria', function () {
    const md = renderTaskMarkdown(task);
    assert.match(md, /^# Add a login form\n/);
    assert.match(md, /## Objective\n\nUsers sign in/);
    assert.match(md, /## Constraints\n\n- No new dependencies\n- Keep the bundle small\n {2}under 50 KB\n/);
    assert.match(md, /## Acceptance Criteria\n\n- \[ \] Form validates e-mail\n- \[ \] Errors show next to fields\n/);
    assert.match(md, /PR1764000000000/);
  });

  it('puts a selection in a fence longer than any backtick run in the code, with its language', function () {
    const code = 'const s = `tpl`;\n// ```` four\nconsole.log(s);\n';
    const md = renderTaskMarkdown({ ...task, selection: { path: 'src/app/login.ts', startLine: 10, endLine: 12, code } });
    assert.match(md, /File: `src\/app\/login.ts` \(lines 10-12\)/);
    assert.ok(md.includes('`````typescript\nconst s = `tpl`;\n// ```` four\nconsole.log(s);\n`````\n'));
    assert.equal(fenceFor('no ticks'), '```');
    assert.equal(fenceFor('``` x ```'), '````');
    assert.equal(languageForPath('a/b/Dockerfile'), 'dockerfile');
    assert.equal(languageForPath('x.py'), 'python');
    assert.equal(languageForPath('Makefile'), '');
  });

  it('round-trips exactly, even with markdown and comment terminators in user text', function () {
    assert.deepEqual(parseTaskMarkdown(renderTaskMarkdown(task)), task);
    const nasty: TaskFields = {
      ...task,
      objective: '--> <!-- kiro-delegate-task AAAA --> # H\n## Constraints\n- fake',
      selection: { path: 'a.md', startLine: 1, endLine: 1, code: '```\n' },
    };
    assert.deepEqual(parseTaskMarkdown(renderTaskMarkdown(nasty)), nasty);
  });

  it('property: any fields round-trip', function () {
    const text = fc.string({ unit: 'grapheme', maxLength: 80 });
    fc.assert(
      fc.property(
        text.filter((t) => t.trim().length > 0),
        text,
        fc.array(text, { maxLength: 4 }),
        fc.array(text, { maxLength: 4 }),
        (title, objective, constraints, acceptanceCriteria) => {
          const t: TaskFields = { title, objective, constraints, acceptanceCriteria };
          assert.deepEqual(parseTaskMarkdown(renderTaskMarkdown(t)), t);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a hand-written TASK.md by its headings', function () {
    const parsed = parseTaskMarkdown(
      '# Fix it\n\n## Objective\n\nMake it work.\n\n## Constraints\n\n- fast\n\n## Acceptance Criteria\n\n- [ ] green\n- [x] done\n',
    );
    assert.deepEqual(parsed, { title: 'Fix it', objective: 'Make it work.', constraints: ['fast'], acceptanceCriteria: ['green', 'done'] });
    assert.throws(
      () => parseTaskMarkdown('no title here'),
      (e: unknown) => TaskParseError.is(e),
    );
  });
});
