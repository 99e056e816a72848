// The "Get Started" walkthrough in the real extension host. Its progress is not API:
// what is tested is what its steps complete on (package.json completionEvents), the
// context keys the extension sets from real events, here the worker's answer to /health.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';
import type Mocha from 'mocha';
import { PROTOCOL_VERSION } from '../../../shared/protocol.js';
import { pollUntil } from '../../support/helpers.js';

interface Step {
  id: string;
  description: string;
  media: { markdown?: string; svg?: string; image?: string };
  completionEvents: string[];
}
interface Manifest {
  contributes: { walkthroughs: { id: string; steps: Step[] }[]; configuration: { properties: Record<string, unknown> } };
}

/** A stand-in worker answering /healthz and /health with `status` (a healthy pool when 200). */
async function fakeWorker(
  status: 200 | 401,
  protocol = PROTOCOL_VERSION,
): Promise<{ url: string; server: Server; healthAsked: () => number }> {
  let asked = 0;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/health') asked++;
    if (req.url === '/healthz') return res.end(JSON.stringify({ ok: true, auth: 'token' }));
    if (status === 401) {
      res.statusCode = 401;
      return res.end(JSON.stringify({ code: 'UNAUTHORIZED', message: 'no token' }));
    }
    res.end(
      JSON.stringify({
        slots: [{ id: 0, state: 'idle', jobId: null, since: new Date().toISOString() }],
        queued: 0,
        running: 0,
        capacity: 1,
        queueLimit: 1,
        accepting: true,
        agent: { command: 'kiro-cli', found: true, message: '' },
        version: '0.1.0',
        protocol,
        uptimeSeconds: 1,
        auth: 'token',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, healthAsked: () => asked };
}

export function walkthroughTests(
  g: { describe: Mocha.SuiteFunction; it: Mocha.TestFunction },
  extensionId: string,
  contextKeys: string[],
): void {
  g.describe('the Get Started walkthrough', function () {
    g.it('completes each step on a context key the extension sets or on its setting; its media and command links exist', async function () {
      const ext = vscode.extensions.getExtension(extensionId);
      assert.ok(ext);
      const manifest = ext.packageJSON as Manifest;
      const steps = manifest.contributes.walkthroughs.find((w) => w.id === 'getStarted')?.steps ?? [];
      assert.deepEqual(
        steps.map((s) => s.id),
        ['workerUrl', 'workerToken', 'github', 'firstDelegation'],
      );
      const registered = new Set(await vscode.commands.getCommands(true));
      for (const step of steps) {
        assert.ok(step.completionEvents.length > 0, step.id);
        for (const event of step.completionEvents) {
          const [kind, arg = ''] = event.split(/:(.*)/s);
          if (kind === 'onContext') assert.ok(contextKeys.includes(arg), `${step.id}: ${arg} is a key the extension sets`);
          else assert.ok(kind === 'onSettingChanged' && arg in manifest.contributes.configuration.properties, `${step.id}: ${event}`);
        }
        const media = step.media.markdown ?? step.media.svg ?? step.media.image ?? '';
        await vscode.workspace.fs.stat(vscode.Uri.joinPath(ext.extensionUri, media));
        for (const [, command] of step.description.matchAll(/\]\(command:([\w.]+)/g))
          assert.ok(registered.has(command ?? ''), `${step.id}: command ${command}`);
      }
    });

    g.it(
      'sets kiroDelegate.workerReady when the worker answers /health with our credential, and clears it when the worker refuses',
      async function () {
        const seen: [string, unknown][] = [];
        const marked: unknown[] = [];
        // The extension and this suite share the host's vscode API object: its setContext calls pass through here.
        const original = vscode.commands.executeCommand;
        const spy = (command: string, ...rest: unknown[]) => {
          if (command === 'setContext' && rest[0] === contextKeys[0]) seen.push([String(rest[0]), rest[1]]);
          if (command === 'welcome.markStepComplete') marked.push(rest[0]);
          return original.call(vscode.commands, command, ...rest);
        };
        (vscode.commands as { executeCommand: unknown }).executeCommand = spy;
        const ok = await fakeWorker(200);
        const refusing = await fakeWorker(401);
        const config = vscode.workspace.getConfiguration('kiroDelegate');
        const before = config.inspect<string>('workerUrl')?.globalValue;
        try {
          await config.update('workerUrl', ok.url, vscode.ConfigurationTarget.Global);
          await pollUntil(() => seen.at(-1)?.[1] === true, { timeoutMs: 15_000, what: `workerReady true (seen ${JSON.stringify(seen)})` });
          // Its steps are marked once per window: here already at start-up (host.e2e.ts configures a
          // real worker), so at most those two, never another; e2e 17 sees them ticked in the real UI.
          assert.ok(
            marked.every((m) => [`${extensionId}#getStarted#workerUrl`, `${extensionId}#getStarted#workerToken`].includes(String(m))),
            JSON.stringify(marked),
          );
          await config.update('workerUrl', refusing.url, vscode.ConfigurationTarget.Global);
          await pollUntil(() => seen.at(-1)?.[1] === false, {
            timeoutMs: 15_000,
            what: `workerReady false (seen ${JSON.stringify(seen)})`,
          });
        } finally {
          (vscode.commands as { executeCommand: unknown }).executeCommand = original;
          await config.update('workerUrl', before, vscode.ConfigurationTarget.Global);
          ok.server.close();
          refusing.server.close();
        }
      },
    );
    g.it('says once per worker URL that a worker is newer than it understands, and what to do', async function () {
      const warnings: unknown[][] = [];
      const original = vscode.window.showWarningMessage;
      // Recorded, never shown: the smoke-test driver hides toasts, and a shown one would wait for an answer.
      (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (...args: unknown[]) => {
        warnings.push(args);
        return Promise.resolve(undefined);
      };
      const newer = await fakeWorker(200, PROTOCOL_VERSION + 1);
      const config = vscode.workspace.getConfiguration('kiroDelegate');
      const previous = config.inspect<string>('workerUrl')?.globalValue;
      try {
        await config.update('workerUrl', newer.url, vscode.ConfigurationTarget.Global);
        await pollUntil(() => warnings.length > 0, { timeoutMs: 15_000, what: 'the protocol warning' });
        assert.match(
          String(warnings[0]?.[0]),
          new RegExp(
            `The Kiro worker at ${newer.url} is newer than this extension understands \\(its protocol: ${PROTOCOL_VERSION + 1}.*Update the Kiro Delegate extension`,
          ),
        );
        assert.equal(warnings[0]?.[1], 'Update the Extension');
        // Another health check of the same worker: not said again.
        const before = newer.healthAsked();
        await config.update('healthIntervalSeconds', 2, vscode.ConfigurationTarget.Global);
        await pollUntil(() => newer.healthAsked() > before, { timeoutMs: 15_000, what: 'another /health' });
        assert.equal(warnings.filter((w) => /newer than this extension/.test(String(w[0]))).length, 1);
      } finally {
        (vscode.window as { showWarningMessage: unknown }).showWarningMessage = original;
        await config.update('workerUrl', previous, vscode.ConfigurationTarget.Global);
        await config.update('healthIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
        newer.server.close();
      }
    });
  });
}
