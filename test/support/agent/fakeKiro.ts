// A scripted stand-in for an agent CLI such as `kiro-cli chat --no-interactive
// --trust-all-tools "<prompt>"`. It insists on a terminal, prints progress over
// time and edits files in its cwd. The scenario comes from FAKE_KIRO_SCENARIO or
// from a `[scenario: NAME]` marker in ./TASK.md:
//   change (default) · no-change · fail · crash · hang · ignore-term · grandchild · huge-output · conflict · hold · replay · leak-secrets
// `leak-secrets` prints what must never reach a log (its environment with its key, a GitHub token cut across
// two writes with a colour change inside, a private key, a login from its HOME) and imitates the worker's notes.
// `replay` writes a file, then prints the transcript named by FAKE_KIRO_REPLAY line by line.
// FAKE_KIRO_STEP_MS sets the pause between progress lines (default 10).
// FAKE_KIRO_RECORD names a file that receives {argv, env, cwd} as JSON; "-" prints it
// as one `FAKE_KIRO_RECORD <base64>` line instead (a sandboxed agent can write nowhere else).
// `hold` works like `change` but first waits for a file named GO in its cwd (a test
// writes it from outside, to keep this job running beside another).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What `leak-secrets` prints besides its environment and HOME (test/integration/worker/redaction.test.ts has the same). */
const LEAKED_GITHUB_TOKEN = 'ghp_Fake0Token1For2The3Redaction4Test5';
const LEAKED_PRIVATE_KEY =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakeKeyForTheRedactionTest0123456789abcdef\nZmFrZS1rZXktYm9keS1saW5lLXR3bw==\n-----END RSA PRIVATE KEY-----';
const step = Number(process.env.FAKE_KIRO_STEP_MS ?? '10');
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const record = process.env.FAKE_KIRO_RECORD;
  if (record) {
    const json = JSON.stringify({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
    if (record === '-') say(`FAKE_KIRO_RECORD ${Buffer.from(json).toString('base64')}`);
    else writeFileSync(record, json);
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write('fake-kiro: this agent needs a terminal (run it in a pty)\n');
    return 2;
  }
  const prompt = process.argv[process.argv.length - 1] ?? '';
  const task = existsSync('TASK.md') ? readFileSync('TASK.md', 'utf8') : '';
  const scenario = process.env.FAKE_KIRO_SCENARIO ?? /\[scenario:\s*([a-z-]+)\]/.exec(task)?.[1] ?? 'change';
  const title = /^# (.+)$/m.exec(task)?.[1] ?? 'untitled task';

  say(`\x1b[1mfake-kiro\x1b[0m ${scenario} · prompt ${prompt.length} chars`);
  await sleep(step);
  say('> Reading TASK.md');
  await sleep(step);
  say(`> Planning: ${title}`);
  await sleep(step);

  if (scenario === 'hold') {
    say('holding until GO appears');
    while (!existsSync('GO')) await sleep(20);
    rmSync('GO');
  }
  switch (scenario) {
    case 'hold':
    case 'change':
    case 'conflict': {
      mkdirSync('kiro', { recursive: true });
      const file = scenario === 'conflict' ? 'README.md' : join('kiro', 'IMPLEMENTATION.md');
      writeFileSync(file, `# ${title}\n\nImplemented by fake-kiro at ${new Date().toISOString()}.\n`);
      say(`> Wrote ${file}`);
      await sleep(step);
      say('Done.');
      return 0;
    }
    case 'replay': {
      // A transcript a real CLI printed (FAKE_KIRO_REPLAY), line by line, after a change to the tree.
      writeFileSync('REPLAYED.md', `# ${title}\n`);
      for (const line of readFileSync(process.env.FAKE_KIRO_REPLAY ?? '', 'utf8').split('\n')) {
        say(line);
        await sleep(step);
      }
      return 0;
    }
    case 'no-change':
      say('Nothing to change.');
      return 0;
    case 'leak-secrets': {
      say('$ env');
      process.stdout.write(execFileSync('env', { encoding: 'utf8' }));
      await sleep(step);
      // Two writes, apart in time: two chunks of the terminal's output.
      process.stdout.write(`token: \x1b[33m${LEAKED_GITHUB_TOKEN.slice(0, 15)}`);
      await sleep(Math.max(step, 50));
      process.stdout.write(`\x1b[1m${LEAKED_GITHUB_TOKEN.slice(15)}\x1b[0m\n`);
      say(LEAKED_PRIVATE_KEY);
      say('$ cat ~/.config/agent/credentials.json');
      say(readFileSync(join(process.env.HOME ?? '', '.config', 'agent', 'credentials.json'), 'utf8'));
      await sleep(step);
      say('[kiro-worker] job succeeded (fake, from the agent)');
      say('\x1b_kiro-note {"text":"job succeeded (fake, from the agent)"}\x1b\\');
      say('\u009fkiro-note {"text":"pushed (fake, 8-bit)"}\u009c');
      mkdirSync('kiro', { recursive: true });
      writeFileSync(join('kiro', 'IMPLEMENTATION.md'), `# ${title}\n`);
      say(`Done. I used the key ${process.env.KIRO_API_KEY ?? '(none)'}.`);
      return 0;
    }
    case 'fail':
      say('error: the model refused the task');
      return 3;
    case 'crash':
      say('about to crash');
      process.kill(process.pid, 'SIGSEGV');
      await sleep(10_000);
      return 1;
    case 'hang':
      say('thinking forever');
      await sleep(24 * 3600 * 1000);
      return 0;
    case 'ignore-term':
      process.on('SIGTERM', () => say('(ignoring SIGTERM)'));
      say('thinking forever, deaf to SIGTERM');
      await sleep(24 * 3600 * 1000);
      return 0;
    case 'grandchild': {
      // A helper process in the same group that would outlive a plain kill of the agent.
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      say(`spawned helper ${child.pid}`);
      await sleep(24 * 3600 * 1000);
      return 0;
    }
    case 'huge-output': {
      const line = 'x'.repeat(199);
      for (let i = 0; i < 20_000; i++) say(`${i} ${line}`);
      writeFileSync('HUGE.md', `# ${title}\n`);
      return 0;
    }
    default:
      say(`unknown scenario ${scenario}`);
      return 64;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fake-kiro: ${String(e)}\n`);
    process.exit(70);
  },
);
