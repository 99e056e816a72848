// The GitHub credential settings: an App (both variables, a numeric id, a readable
// RSA key in PEM) or a personal token, never both; and the credential sources
// built from them, which never show a token in JSON or util.inspect.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { inspect } from 'node:util';
import { loadConfig, ConfigError } from '../../../worker-service/config.js';
import { credentialSource } from '../../../worker-service/github/credentials.js';
import { makeAppKey, type AppKey } from '../../support/github/apps.js';
import { tempDir } from '../../support/helpers.js';

/** A worker that holds GitHub credentials has a token of its own (config.ts refuses one without). */
const load = (env: Record<string, string>) => loadConfig({ KIRO_WORKER_TOKEN: 'a-worker-token-of-the-tests', ...env });

const fails = (env: Record<string, string>, variable: string, detail?: RegExp) =>
  assert.throws(
    () => load(env),
    (e: unknown) => ConfigError.is(e) && e.variable === variable && e.message.startsWith(variable) && (!detail || detail.test(e.message)),
  );

describe('GitHub credentials: configuration', function () {
  let dir: string;
  let key: AppKey;

  before(async () => {
    dir = await tempDir();
    key = await makeAppKey(dir);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const app = (extra: Record<string, string> = {}) => ({
    KIRO_GITHUB_APP_ID: '12345',
    KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile,
    ...extra,
  });

  it('takes an App: a numeric id and the path of its key, made absolute for the sandbox to hide', function () {
    const c = load(app());
    assert.equal(c.githubAppId, 12345);
    assert.equal(c.githubAppPrivateKeyFile, key.privateKeyFile);
    assert.equal(c.githubToken, undefined);
    const rel = relative(process.cwd(), key.privateKeyFile);
    assert.equal(load(app({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: rel })).githubAppPrivateKeyFile, key.privateKeyFile);
    const none = load({});
    assert.equal(none.githubAppId, undefined);
    assert.equal(none.githubAppPrivateKeyFile, undefined);
  });

  it('wants both App variables or neither, and names the missing one', function () {
    fails({ KIRO_GITHUB_APP_ID: '12345' }, 'KIRO_GITHUB_APP_PRIVATE_KEY_FILE', /required with KIRO_GITHUB_APP_ID/);
    fails({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile }, 'KIRO_GITHUB_APP_ID', /required with KIRO_GITHUB_APP_PRIVATE_KEY_FILE/);
    // Empty counts as unset, as for every other variable.
    fails({ KIRO_GITHUB_APP_ID: '12345', KIRO_GITHUB_APP_PRIVATE_KEY_FILE: '' }, 'KIRO_GITHUB_APP_PRIVATE_KEY_FILE');
  });

  it('refuses an App ID that is not a number', function () {
    for (const id of ['my-app', '0', '-3', '12.5', '1e3']) fails(app({ KIRO_GITHUB_APP_ID: id }), 'KIRO_GITHUB_APP_ID', /numeric ID/);
  });

  it('refuses a key file it cannot read, naming the variable and the path', async function () {
    const missing = join(dir, 'nope.pem');
    fails(
      app({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: missing }),
      'KIRO_GITHUB_APP_PRIVATE_KEY_FILE',
      new RegExp(`cannot read ${missing}: ENOENT`),
    );
    const aDir = join(dir, 'a-directory.pem');
    await mkdir(aDir);
    fails(app({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: aDir }), 'KIRO_GITHUB_APP_PRIVATE_KEY_FILE', /cannot read .*EISDIR/);
  });

  it('refuses a file that is not an RSA private key in PEM', async function () {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'der' });
    const bodies: [string, string | Buffer][] = [
      ['public.pem', key.publicKeyPem],
      ['text.pem', 'not a key\n'],
      ['empty.pem', ''],
      ['ec.pem', ec],
      ['key.der', der],
      ['truncated.pem', key.privateKeyPem.split('\n').slice(0, 5).join('\n')],
    ];
    for (const [name, body] of bodies) {
      const file = join(dir, name);
      await writeFile(file, body);
      fails(app({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: file }), 'KIRO_GITHUB_APP_PRIVATE_KEY_FILE', /is not an RSA private key in PEM/);
    }
    // GitHub's PKCS#1 file and a PKCS#8 conversion of it are both fine.
    const pkcs8 = join(dir, 'pkcs8.pem');
    await writeFile(pkcs8, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.equal(load(app({ KIRO_GITHUB_APP_PRIVATE_KEY_FILE: pkcs8 })).githubAppPrivateKeyFile, pkcs8);
  });

  it('refuses an App together with KIRO_GITHUB_TOKEN rather than silently ignoring the token', function () {
    fails(app({ KIRO_GITHUB_TOKEN: 'ghp_personal' }), 'KIRO_GITHUB_TOKEN', /not both/);
    assert.equal(load({ KIRO_GITHUB_TOKEN: 'ghp_personal' }).githubToken, 'ghp_personal');
  });

  it('reads the App settings from KIRO_WORKER_CONFIG too', async function () {
    const file = join(dir, 'worker.json');
    await writeFile(file, JSON.stringify({ KIRO_GITHUB_APP_ID: 777, KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile }));
    assert.equal(load({ KIRO_WORKER_CONFIG: file }).githubAppId, 777);
  });
});

describe('GitHub credentials: sources', function () {
  let dir: string;
  let key: AppKey;

  before(async () => {
    dir = await tempDir();
    key = await makeAppKey(dir);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('with only KIRO_GITHUB_TOKEN, every job gets that token and release does nothing', async function () {
    const source = credentialSource(load({ KIRO_GITHUB_TOKEN: 'ghp_personal_secret' }));
    assert.equal(source.kind, 'token');
    const cred = await source.forRepository('acme', 'app');
    assert.equal(cred.kind, 'token');
    assert.equal(cred.token, 'ghp_personal_secret');
    await cred.release();
    await cred.release();
    assert.equal((await source.forRepository('acme', 'other')).token, 'ghp_personal_secret');
  });

  it('with neither, jobs get no token', async function () {
    const source = credentialSource(load({}));
    assert.equal(source.kind, 'none');
    const cred = await source.forRepository('acme', 'app');
    assert.deepEqual([cred.kind, cred.token], ['none', undefined]);
    await cred.release();
  });

  it('with an App, the source is the App (nothing is asked of GitHub until a job needs a token)', function () {
    const source = credentialSource(
      load({ KIRO_GITHUB_APP_ID: '1', KIRO_GITHUB_APP_PRIVATE_KEY_FILE: key.privateKeyFile, KIRO_GITHUB_API_URL: 'http://127.0.0.1:9' }),
    );
    assert.equal(source.kind, 'app');
  });

  it('never shows a token in JSON or util.inspect (a logged credential stays harmless)', async function () {
    const cred = await credentialSource(load({ KIRO_GITHUB_TOKEN: 'ghp_personal_secret' })).forRepository('acme', 'app');
    assert.equal(JSON.stringify({ cred }).includes('ghp_personal_secret'), false);
    assert.equal(inspect(cred).includes('ghp_personal_secret'), false);
    assert.equal(inspect({ deep: { cred } }).includes('ghp_personal_secret'), false);
    assert.equal(cred.token, 'ghp_personal_secret', 'the token itself is still there for git and Octokit');
  });
});
