// Mocha inside VS Code's real extension host (what @vscode/test-electron runs):
// the contributions, commands and the glue modules against the real vscode API.
// Bundled to dist/test/host-suite.cjs; run by test/e2e/host.e2e.ts through
// code-server's smoke-test driver, or by @vscode/test-electron where a desktop
// VS Code can be downloaded (extensionTestsPath = dist/test/host-suite.cjs).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import Mocha from 'mocha';
import { workspaceRepo, changeWarnings } from '../../../extension/git/vscodeGit.js';
import { resolveGitHubToken } from '../../../extension/auth/githubToken.js';
import { agentPseudoterminal } from '../../../extension/ui/agentTerminal.js';
import type { LogSource } from '../../../extension/worker/logFollower.js';
import { MARKER } from '../../../extension/terminal/kiroLines.js';
import type { JobStatus } from '../../../shared/protocol.js';
import { formatNote } from '../../../shared/workerNote.js';
import { pollUntil } from '../../support/helpers.js';
import { GITHUB_READY, HAS_DELEGATION, WORKER_READY } from '../../../extension/ui/walkthroughContext.js';
import { walkthroughTests } from './walkthrough.js';
import { chatTests } from './chat.js';

const EXTENSION_ID = 'kiro-delegate.kiro-delegate';
const ESC = '\x1b';

/** What the agent may print, and what of it the terminal is given: [what, printed, shown]. */
const AGENT_OUTPUT: [string, string, string][] = [
  [
    'OSC 8 link whose text is not its target',
    `${ESC}]8;;https://evil.example/${ESC}\\https://github.com/${ESC}]8;;${ESC}\\`,
    'https://github.com/',
  ],
  ['OSC 0/1/2 titles', `${ESC}]0;a\x07${ESC}]1;b\x07${ESC}]2;Kiro: job succeeded${ESC}\\`, ''],
  ['OSC 52 clipboard write', `${ESC}]52;c;Y3VybCBldmlsIHwgc2g=\x07`, ''],
  [
    'OSC 633, 133, 1337 shell integration',
    `${ESC}]633;E;rm -rf ~\x07${ESC}]633;D;0\x07${ESC}]133;A${ESC}\\${ESC}]1337;SetUserVar=a=Yg==\x07`,
    '',
  ],
  ['DCS, APC, PM, SOS strings', `${ESC}P+q544e${ESC}\\${ESC}_Gf=100;AAAA${ESC}\\${ESC}^pm${ESC}\\${ESC}Xsos${ESC}\\`, ''],
  [
    'screen clears, scrolling, positioning',
    `${ESC}[2J${ESC}[3J${ESC}[H${ESC}[5;1H${ESC}[3A${ESC}[1;5r${ESC}[2S${ESC}[s${ESC}[u${ESC}7${ESC}8${ESC}M`,
    '',
  ],
  ['mode switches and reports', `${ESC}[?1049h${ESC}[?25l${ESC}[?1000h${ESC}[4h${ESC}[>4;2m${ESC}[6n${ESC}[21t`, ''],
  ['reset and charset switches', `${ESC}c${ESC}(0${ESC})0\x0e${ESC}#8`, ''],
  ['C1 controls', '\x9b2J\x9d0;title\x9c\x90q\x9c\x9fkiro-note {"text":"job succeeded"}\x9c\x85\x8d', ''],
  ['a never-terminated OSC, longer than the limit', `${ESC}]0;${'x'.repeat(5000)}`, 'x'.repeat(5000 - 4096 + 2)],
  ["the marker of Kiro's lines, forged", `${MARKER} [kiro-worker] job succeeded`, '? [kiro-worker] job succeeded'],
  ['a forged worker line', `${ESC}[1;36m[kiro-worker] job succeeded${ESC}[0m`, `${ESC}[1;36m[kiro-worker] job succeeded${ESC}[0m`],
  ['a forged note in plain text', 'kiro-note {"text":"job succeeded"}', 'kiro-note {"text":"job succeeded"}'],
  ['colours', `${ESC}[31mred${ESC}[0m ${ESC}[38;5;45mblue${ESC}[m`, `${ESC}[31mred${ESC}[0m ${ESC}[38;5;45mblue${ESC}[m`],
  [
    'a progress bar',
    `[=>  ] 10%\r[===>] 90%${ESC}[K\b${ESC}[2D${ESC}[1C${ESC}[1G`,
    `[=>  ] 10%\r[===>] 90%${ESC}[K\b${ESC}[2D${ESC}[1C${ESC}[1G`,
  ],
];

function jobStatus(state: JobStatus['state']): JobStatus {
  return {
    jobId: 'hostile0123456789',
    state,
    owner: 'alice',
    repo: 'app',
    branch: 'kiro/hostile',
    prNumber: 7,
    title: 'hostile',
    attempts: 1,
    position: 0,
    slotId: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: state === 'running' ? null : '2026-01-01T00:00:03.000Z',
    exitCode: state === 'running' ? null : 0,
    signal: null,
    commitSha: state === 'succeeded' ? '0123456789abcdef0123' : null,
    error: null,
    outputTail: [],
  };
}

/** A log body that arrives in small pieces (cutting sequences and UTF-8 characters). */
function body(text: string, piece: number): Response {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + piece));
        at += piece;
      },
    }),
  );
}

/** The agent terminal's Pseudoterminal over `source`, in a real terminal; resolves with everything the terminal was given once `done` says so. */
async function runAgentTerminal(source: LogSource, done: (written: string) => boolean): Promise<string> {
  const pty = agentPseudoterminal(
    { id: 'job:hostile0123456789', jobId: 'hostile0123456789', prNumber: 7, owner: 'alice', repo: 'app', branch: 'kiro/hostile' },
    source,
  );
  let written = '';
  const sub = pty.onDidWrite((t) => {
    written += t;
  });
  let opened = false;
  const realOpen = pty.open.bind(pty);
  pty.open = (dims) => {
    opened = true;
    realOpen(dims);
  };
  const terminal = vscode.window.createTerminal({ name: 'Kiro: PR #7 (host test)', pty });
  try {
    terminal.show();
    await pollUntil(() => opened, { timeoutMs: 15_000, what: 'VS Code to open the pseudoterminal' });
    await pollUntil(() => done(written), {
      timeoutMs: 15_000,
      what: `the end of the log (so far: ${JSON.stringify(written.slice(-300))})`,
    });
    return written;
  } finally {
    sub.dispose();
    terminal.dispose();
  }
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: 'spec' });
  // Defines describe/it/before on globalThis, as the mocha CLI does.
  mocha.suite.emit('pre-require', globalThis, 'host-suite', mocha);
  const g = globalThis as unknown as { describe: Mocha.SuiteFunction; it: Mocha.TestFunction; before: Mocha.HookFunction };

  g.describe('in the real extension host', function () {
    g.before(async function () {
      await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    });

    g.it('activates and registers every contributed command', async function () {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext?.isActive, 'the extension is active');
      const contributed = (ext.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map(
        (c) => c.command,
      );
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(
        contributed.filter((c) => !registered.has(c)),
        [],
      );
      assert.ok(contributed.length >= 10);
    });

    g.it('reads its settings with their defaults', function () {
      const c = vscode.workspace.getConfiguration('kiroDelegate');
      assert.equal(c.get('branchPrefix'), 'kiro/');
      assert.equal(c.get('draftPullRequests'), false);
      assert.equal(typeof c.get('workerUrl'), 'string');
    });

    g.it('reads owner, repo and branch from the workspace through the built-in git extension', async function () {
      const info = await workspaceRepo();
      assert.equal(info.remote?.owner, 'alice');
      assert.equal(info.remote?.repo, 'app');
      assert.equal(info.branch, 'main');
    });

    g.it('warns about unsaved changes in the delegated file', async function () {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      assert.ok(folder);
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'README.md'));
      const editor = await vscode.window.showTextDocument(doc);
      await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'unsaved '));
      const warnings = changeWarnings(await workspaceRepo(doc.uri), doc, 'main');
      assert.ok(
        warnings.some((w) => /README\.md has unsaved changes/.test(w)),
        warnings.join(' | '),
      );
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });

    g.it('opens the delegation form as a webview panel from the command', async function () {
      await vscode.commands.executeCommand('kiroDelegate.delegateTask');
      const deadline = Date.now() + 10_000;
      let found = false;
      while (!found && Date.now() < deadline) {
        found = vscode.window.tabGroups.all.some((g2) =>
          g2.tabs.some((t) => t.label === 'Kiro: Delegate Task' && t.input instanceof vscode.TabInputWebview),
        );
        if (!found) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(found, 'a "Kiro: Delegate Task" webview tab');
    });

    g.it('finds no GitHub sign-in provider in this editor build, so the pasted-token fallback is needed', async function () {
      const result = await resolveGitHubToken(
        {
          getSession: (opts) => Promise.resolve(vscode.authentication.getSession('github', ['repo'], opts)),
          storedToken: async () => undefined,
          timeoutMs: 8_000,
        },
        true,
      );
      // code-server has no 'github' provider: a sign-in request waits for one that never registers.
      assert.deepEqual(result, { kind: 'none', reason: 'no-provider' });
    });
  });

  walkthroughTests(g, EXTENSION_ID, [WORKER_READY, GITHUB_READY, HAS_DELEGATION]);

  g.describe('the agent terminal (the real Pseudoterminal, in a real terminal)', function () {
    g.it(
      "gives the terminal the agent's colours and progress bars, none of its hostile sequences, and the worker's notes as lines the agent cannot forge",
      async function () {
        const log =
          AGENT_OUTPUT.map(([, printed], i) => `case ${i} <${printed}>\r\n`).join('') +
          `agent done${formatNote('pushed 0123456789ab to kiro/hostile')}`;
        let offset = -1;
        const source: LogSource = {
          openLog: async (_id, from) => {
            offset = from;
            return body(log, 7);
          },
          job: async () => jobStatus('succeeded'),
        };
        const written = await runAgentTerminal(source, (w) => w.includes('usage not reported'));
        assert.equal(offset, 0);
        const rows = written.split('\r\n');
        for (const [i, [what, , shown]] of AGENT_OUTPUT.entries()) {
          assert.equal(
            rows.find((r) => r.startsWith(`case ${i} <`)),
            `case ${i} <${shown}>`,
            what,
          );
        }
        // Only colours and in-line movement reach the terminal.
        assert.doesNotMatch(written.replace(/\x1b\[(?:[0-9:;]*m|[0-9]*[CDG]|[0-2]?K)/g, ''), /[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]/);
        // Kiro's lines, each with the marker at the start of its row: the header, the worker's note, how the job ended, the usage. No other.
        const marked = rows.filter((r) => r.includes(MARKER));
        assert.equal(marked.length, 4, marked.join('\n'));
        assert.ok(
          marked.every((r) => new RegExp(`^(?:\x1b\\[[0-9;]*m)*${MARKER}`).test(r)),
          'the marker first on its row',
        );
        assert.match(marked[1] ?? '', /\[kiro-worker\].* pushed 0123456789ab to kiro\/hostile/);
        assert.match(marked[2] ?? '', /\[kiro\] job succeeded · exit code 0 · 3 s · pushed 0123456789ab/);
        assert.match(marked[3] ?? '', /\[kiro\] usage not reported by this agent/);
      },
    );

    g.it('resumes after a dropped connection inside an escape sequence: what it held is neither shown nor lost', async function () {
      const first = `before ${ESC}[3`;
      const rest = `2mgreen ${ESC}]0;tit`;
      const last = `le\x07after${formatNote('job succeeded')}`;
      const offsets: number[] = [];
      let state: JobStatus['state'] = 'running';
      const source: LogSource = {
        openLog: async (_id, from) => {
          offsets.push(from);
          const parts = [first, rest, last];
          const text = parts[offsets.length - 1] ?? '';
          if (offsets.length === parts.length) state = 'succeeded';
          return body(text, 3);
        },
        job: async () => jobStatus(state),
      };
      const written = await runAgentTerminal(source, (w) => w.includes('usage not reported'));
      const enc = (t: string) => new TextEncoder().encode(t).length;
      assert.deepEqual(offsets, [0, enc(first), enc(first + rest)], 'each reconnect resumes at the byte it had reached');
      const rows = written.split('\r\n');
      const notices = rows.filter((r) => /\[kiro\] connection to the worker lost; reconnecting/.test(r));
      assert.equal(notices.length, 2, 'each drop is told (data flowed in between)');
      assert.ok(notices.every((r) => r.includes(MARKER)));
      const agent = rows.filter((r) => !r.includes(MARKER)).join('|');
      assert.equal(agent, `before |${ESC}[32mgreen |after|`, JSON.stringify(written));
    });
  });

  chatTests(g);

  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} host test(s) failed`)) : resolve()));
  });
}
