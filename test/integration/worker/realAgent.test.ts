// A real agent CLI through the real worker and its real sandbox: Codex from the
// npm registry (pinned, installed by scripts/agents/install.sh into .cache/agents),
// whose whole configuration (a model provider on loopback, no update checks,
// analytics, feedback, otel or plugins) lives in KIRO_AGENT_HOME_TEMPLATE. The run
// happens in test/support/realAgentRun.ts under unshare, in network and mount
// namespaces of its own: only loopback, and a resolv.conf (seen only there) that
// sends every name lookup to a logger. Nothing can leave the machine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { repoRoot } from '../../support/paths.js';
import type { RealAgentRunArgs, RunReport } from '../../support/realAgentRun.js';

const run = promisify(execFile);

const FILE_NAME = 'hello.txt';
const FILE_CONTENT = 'hello from codex in the sandbox';

/** The mounts over /etc/resolv.conf this process can see (none, unless the host made one). */
function resolvMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === '/etc/resolv.conf');
}

describe('a real agent CLI (Codex) in the real sandbox, configured only by KIRO_AGENT_HOME_TEMPLATE', function () {
  this.timeout(30_000);
  let report: RunReport;
  let resolvBefore: { content: string; mounts: string[] };

  before(async function () {
    // A fresh machine installs the CLI from the npm registry (about 400 MB); later runs find it in .cache/agents.
    this.timeout(600_000);
    assert.equal(process.getuid?.(), 0, 'this test makes network and mount namespaces with unshare: run it as root');
    const { stdout: codexPath } = await run('bash', ['scripts/agents/install.sh', 'codex'], { cwd: repoRoot, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 });
    const codex = codexPath.trim().split('\n').pop() ?? '';

    resolvBefore = { content: readFileSync('/etc/resolv.conf', 'utf8'), mounts: resolvMounts() };
    const args: RealAgentRunArgs = {
      codex, fileName: FILE_NAME, fileContent: FILE_CONTENT, withoutTemplate: true, jobTimeoutMs: 90_000,
      outerNamespaces: { net: readlinkSync('/proc/self/ns/net'), mnt: readlinkSync('/proc/self/ns/mnt') },
    };
    // --kill-child and a PID namespace: if this test kills unshare, every process of the run dies with it.
    const argv = ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--kill-child', '--',
      process.execPath, '--import', 'tsx', 'test/support/realAgentRun.ts', JSON.stringify(args)];
    let stdout: string;
    try {
      ({ stdout } = await run('unshare', argv, { cwd: repoRoot, timeout: 300_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }));
    } catch (e) {
      const err = e as Error & { stdout?: string; stderr?: string };
      throw new Error(`realAgentRun failed: ${err.message}\nstderr:\n${err.stderr ?? ''}\nstdout:\n${(err.stdout ?? '').slice(-4000)}`);
    }
    const line = stdout.trim().split('\n').pop() ?? '';
    report = JSON.parse(line) as RunReport;
  });

  const explain = () => `job: ${JSON.stringify(report.withTemplate.job.error)}\nlog:\n${report.withTemplate.logTail}`;

  it('the job succeeds and the file Codex wrote is on the PR branch', function () {
    const r = report.withTemplate;
    assert.equal(r.job.state, 'succeeded', explain());
    assert.equal(r.job.exitCode, 0);
    assert.match(r.job.commitSha ?? '', /^[0-9a-f]{40}$/);
    assert.equal(r.file, `${FILE_CONTENT}\n`);
  });

  it('Codex streamed every turn from the scripted model on loopback, with the key and the model named in the template', function () {
    const requests = report.withTemplate.modelRequests;
    const responses = requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');
    assert.ok(responses.length >= 2, `at least two /v1/responses requests, got ${JSON.stringify(requests.map((q) => q.path))}`);
    assert.deepEqual(requests.filter((q) => q.status !== 200).map((q) => `${q.method} ${q.path} ${q.status}`), [], 'no request the server did not know (404) or refused');
    for (const q of responses) {
      assert.equal(q.authorized, true, `Authorization: Bearer <the key in ${report.modelKeyVar}>`);
      assert.equal(q.model, report.model);
      assert.equal(q.stream, true);
      assert.match(q.userAgent ?? '', /^codex_exec\/0\.169\.0 /);
    }
    // All three scripted turns were asked for: two tool calls, then the final message.
    assert.deepEqual(responses.map((q) => q.step), [0, 1, 2]);
    assert.ok(responses[0]?.tools.includes('exec_command'), `Codex offers exec_command: ${JSON.stringify(responses[0]?.tools)}`);
  });

  it('Codex ran its commands inside the sandbox: in the job\'s tree, with HOME the private /home/agent holding the template', function () {
    const firstResult = report.withTemplate.modelRequests[1]?.toolOutput ?? '';
    assert.match(firstResult, /^# Create hello\.txt$/m, 'TASK.md of the job\'s branch came back to the model');
    assert.match(firstResult, /^HOME=\/home\/agent$/m);
    assert.match(firstResult, /^\/home\/agent\/\.codex\/config\.toml$/m);
  });

  it('the job\'s output shows Codex at work', function () {
    const { outputTail } = report.withTemplate.job;
    const tail = outputTail.join('\n');
    assert.match(tail, /OpenAI Codex v0\.169\.0/);
    assert.match(tail, /provider: kiro_scripted/);
    assert.match(tail, new RegExp(`Created ${FILE_NAME.replace('.', '\\.')} as TASK\\.md asked\\.`));
    assert.match(report.withTemplate.logTail, /\[kiro-worker\] job succeeded/);
  });

  it('with the template, nothing looked up a name: Codex stayed on loopback', function () {
    assert.deepEqual(report.withTemplate.dnsNames.filter((n) => n !== 'localhost'), []);
  });

  it('without the template Codex has no provider: it never reaches the model server and reaches for OpenAI (which the name logger sees)', function () {
    const r = report.withoutTemplate;
    assert.ok(r, 'the run without the template happened');
    assert.deepEqual(r.modelRequests, []);
    assert.notEqual(r.job.state, 'succeeded');
    assert.equal(r.file, null);
    // The logger does see lookups made inside the sandbox: the empty list above means something.
    assert.ok(r.dnsNames.includes('api.openai.com'), `names looked up: ${JSON.stringify(r.dnsNames)}\n${r.logTail}`);
  });

  it('the host\'s /etc/resolv.conf was never touched (the bind mount lived only in the run\'s namespace)', function () {
    assert.equal(readFileSync('/etc/resolv.conf', 'utf8'), resolvBefore.content);
    assert.deepEqual(resolvMounts(), resolvBefore.mounts);
  });
});
