// Real agent CLIs through the real worker and its real sandbox, each chosen only by
// its preset (KIRO_AGENT=codex, claude, gemini, opencode): Codex, Claude Code, Gemini
// CLI and opencode from the npm registry (pinned, installed by scripts/agents/install.sh into
// .cache/agents), each against a scripted model server that speaks its API on
// loopback. The run happens in test/support/realAgentRun.ts under unshare, in
// network and mount namespaces of its own: only loopback, and a resolv.conf (seen
// only there) that sends every name lookup to a logger. Nothing can leave the
// machine, no API key is needed, and no real model is reached.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { finalMessage, FAILING_COMMAND, type RealAgent } from '../../support/agentScenarios.js';
import { repoRoot } from '../../support/paths.js';
import type { RealAgentRunArgs, RunReport } from '../../support/realAgentRun.js';

const run = promisify(execFile);

/** The mounts over /etc/resolv.conf this process can see (none, unless the host made one). */
function resolvMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === '/etc/resolv.conf');
}

const FILE_NAME = 'hello.txt';
const FILE_CONTENT = 'hello from the agent in the sandbox';
const TASK = { fileName: FILE_NAME, fileContent: FILE_CONTENT };

interface Expect {
  version: RegExp;
  userAgent: RegExp;
  /** How a command it ran reads in the terminal (plain-text opencode prints its own `$ …`). */
  ran: (cmd: string) => string;
  /** The readable line for the file the agent wrote (Codex writes it with a command). */
  wrote: (file: string) => string;
  /** How the failing command's outcome reads (Gemini CLI's stream does not carry exit codes). */
  failed: string;
  configFile: string | null;
}

const EXPECT: Record<RealAgent, Expect> = {
  codex: {
    ran: (c) => `▸ $ ${c}`,
    version: /^codex-cli 0\.169\.0$/,
    userAgent: /^codex_exec\/0\.169\.0 /,
    wrote: (f) => `▸ $ printf '%s\\n' '${FILE_CONTENT}' > '${f}'`,
    failed: '✗ exit 2',
    configFile: '/home/agent/.codex/config.toml',
  },
  claude: {
    ran: (c) => `▸ $ ${c}`,
    version: /^2\.1\.331 \(Claude Code\)$/,
    userAgent: /claude-cli\/2\.1\.331/,
    wrote: (f) => `▸ wrote ${f}`,
    failed: '✗ exit 2',
    configFile: null,
  },
  gemini: {
    ran: (c) => `▸ $ ${c}`,
    version: /^0\.61\.0$/,
    userAgent: /^GeminiCLI(-tui)?\/0\.61\.0\//,
    wrote: (f) => `▸ wrote ${f}`,
    failed: '· ran',
    configFile: '/home/agent/.gemini/settings.json',
  },
  // Plain text, kept as printed: its own lines, and what the failing command printed under it.
  opencode: {
    ran: (c) => `$ ${c}`,
    version: /^1\.18\.33$/,
    userAgent: /opencode\/1\.18\.33/,
    wrote: (f) => `← Write ${f}`,
    failed: "ls: cannot access 'no-such-file': No such file or directory",
    configFile: '/home/agent/.config/opencode/opencode.json',
  },
};

for (const agent of ['codex', 'claude', 'gemini', 'opencode'] as const) {
  const expect = EXPECT[agent];
  describe(`a real agent CLI (KIRO_AGENT=${agent}) in the real sandbox, with nothing but loopback`, function () {
    this.timeout(30_000);
    let report: RunReport;
    let resolvBefore: { content: string; mounts: string[] };

    before(async function () {
      // A fresh machine installs the CLI from the npm registry; later runs find it in .cache/agents.
      this.timeout(600_000);
      assert.equal(process.getuid?.(), 0, 'this test makes network and mount namespaces with unshare: run it as root');
      const { stdout: binPath } = await run('bash', ['scripts/agents/install.sh', agent], {
        cwd: repoRoot,
        timeout: 540_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const bin = binPath.trim().split('\n').pop() ?? '';

      resolvBefore = { content: readFileSync('/etc/resolv.conf', 'utf8'), mounts: resolvMounts() };
      const args: RealAgentRunArgs = {
        agent,
        bin,
        fileName: FILE_NAME,
        fileContent: FILE_CONTENT,
        withoutTemplate: agent === 'codex',
        jobTimeoutMs: 90_000,
        outerNamespaces: { net: readlinkSync('/proc/self/ns/net'), mnt: readlinkSync('/proc/self/ns/mnt') },
      };
      // --kill-child and a PID namespace: if this test kills unshare, every process of the run dies with it.
      const argv = [
        '--net',
        '--mount',
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        '--',
        process.execPath,
        '--import',
        'tsx',
        'test/support/realAgentRun.ts',
        JSON.stringify(args),
      ];
      let stdout: string;
      try {
        ({ stdout } = await run('unshare', argv, { cwd: repoRoot, timeout: 300_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }));
      } catch (e) {
        const err = e as Error & { stdout?: string; stderr?: string };
        throw new Error(`realAgentRun failed: ${err.message}\nstderr:\n${err.stderr ?? ''}\nstdout:\n${(err.stdout ?? '').slice(-4000)}`, {
          cause: e,
        });
      }
      report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as RunReport;
    });

    const r = () => report.withTemplate;
    const explain = () => `job: ${JSON.stringify(r().job.error)}\nlog:\n${r().log.slice(-4000)}`;
    const lines = () => r().log.split('\n');

    it('/health names the preset, finds the CLI and reports its --version', function () {
      assert.equal(r().health.preset, agent);
      assert.equal(r().health.found, true, r().health.message);
      assert.match(r().health.version ?? '', expect.version);
    });

    it("the job succeeds, the file the agent wrote is on the PR branch, and the summary is the model's final message", function () {
      assert.equal(r().job.state, 'succeeded', explain());
      assert.equal(r().job.exitCode, 0);
      assert.match(r().job.commitSha ?? '', /^[0-9a-f]{40}$/);
      assert.equal(r().file, `${FILE_CONTENT}\n`);
      // A plain-text agent's last lines stand in for its summary: they end with its final message.
      if (agent === 'opencode') assert.ok(r().job.summary?.endsWith(finalMessage(TASK)), r().job.summary ?? '(none)');
      else assert.equal(r().job.summary, finalMessage(TASK));
    });

    it('the PR comment after the push quotes the summary', function () {
      const comment = r().comment ?? '';
      assert.match(comment, /^### Kiro pushed its changes/);
      assert.ok(
        comment.includes(
          finalMessage(TASK)
            .split('\n')
            .map((l) => `> ${l}`)
            .join('\n'),
        ),
        comment,
      );
    });

    it("every turn came from the scripted model on loopback, in order, with the key from the service's environment", function () {
      const requests = r().modelRequests;
      assert.deepEqual(
        requests.filter((q) => q.status !== 200).map((q) => `${q.method} ${q.path} ${q.status}`),
        [],
        'no request the server did not know (404) or refused',
      );
      assert.ok(
        requests.every((q) => q.authorized),
        'every request carried the key',
      );
      assert.deepEqual(
        requests.filter((q) => q.step !== undefined).map((q) => q.step),
        [0, 1, 2, 3],
      );
      assert.match(requests[0]?.userAgent ?? '', expect.userAgent);
    });

    it("its commands ran inside the sandbox: in the job's tree, with HOME the private /home/agent holding the template", function () {
      const firstResult = r().modelRequests.find((q) => q.step === 1)?.toolOutput ?? '';
      assert.match(firstResult, /# Create hello\.txt/, "TASK.md of the job's branch came back to the model");
      assert.match(firstResult, /HOME=\/home\/agent/);
      if (expect.configFile) assert.ok(firstResult.includes(expect.configFile), firstResult);
    });

    it("the terminal shows readable progress: each command and how it ended, the file written, the agent's message; no raw events", function () {
      const log = lines().map((l) => l.trim());
      const at = (line: string) => {
        const i = log.findIndex((l) => l.startsWith(line));
        assert.ok(i >= 0, `the log has "${line}":\n${r().log.slice(-4000)}`);
        return i;
      };
      const read = at(expect.ran('cat TASK.md && echo "HOME=$HOME"'));
      const failing = at(expect.ran(FAILING_COMMAND));
      assert.equal(log[failing + 1], expect.failed);
      const wrote = at(expect.wrote(FILE_NAME));
      const said = at(finalMessage(TASK).split('\n')[0] ?? '');
      assert.ok(read < failing && failing < wrote && wrote < said, 'in the order it happened');
      assert.ok(at('[kiro-worker] job succeeded') > said);
      assert.deepEqual(
        log.filter((l) => l.startsWith('{"type"') || l.startsWith('{"item"')),
        [],
      );
    });

    it('nothing looked up a name: the CLI stayed on loopback (no telemetry, no update check)', function () {
      assert.deepEqual(
        r().dnsNames.filter((n) => n !== 'localhost'),
        [],
      );
    });

    if (agent === 'codex') {
      it('without the template Codex has no provider: it never reaches the model server and reaches for OpenAI (which the name logger sees)', function () {
        const w = report.withoutTemplate;
        assert.ok(w, 'the run without the template happened');
        assert.deepEqual(w.modelRequests, []);
        assert.notEqual(w.job.state, 'succeeded');
        assert.equal(w.file, null);
        // The logger does see lookups made inside the sandbox: the empty list above means something.
        assert.ok(w.dnsNames.includes('api.openai.com'), `names looked up: ${JSON.stringify(w.dnsNames)}\n${w.log.slice(-4000)}`);
      });
    }

    it("the host's /etc/resolv.conf was never touched (the bind mount lived only in the run's namespace)", function () {
      assert.equal(readFileSync('/etc/resolv.conf', 'utf8'), resolvBefore.content);
      assert.deepEqual(resolvMounts(), resolvBefore.mounts);
    });
  });
}
