// Which values a job treats as secret: the agent's key variables and variables named
// like secrets, and the logins in the template HOME's files (each format), without
// the settings that only look alike (token_type, env_key naming a variable).
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  agentSecrets,
  environmentSecrets,
  fileSecrets,
  homeSecrets,
  isSecretSetting,
  MAX_FILE_BYTES,
} from '../../../worker-service/redaction/secrets.js';
import { tempDir } from '../../support/helpers.js';

describe('redaction: the secret values of a job', function () {
  describe("the agent's environment", function () {
    it("its key variables (the preset's, or KIRO_AGENT_KEY_VAR's) and any variable named like a key, token, secret or password", function () {
      const env = {
        PATH: '/usr/bin:/bin',
        HOME: '/home/agent',
        TERM: 'xterm-256color',
        KIRO_DELEGATE: '1',
        SCRIPTED_MODEL_ACCESS: 'scripted-access-value-1', // named by KIRO_AGENT_KEY_VAR: a key by position, not by name
        OPENAI_API_KEY: 'sk-the-openai-key-0001',
        GH_TOKEN: 'gh-token-value-0002',
        CLIENT_SECRET: 'client-secret-0003',
        DB_PASSWORD: 'db-password-0004',
        OPENCODE_CONFIG_CONTENT: '{"autoupdate":false}',
        EMPTY_TOKEN: '',
      };
      assert.deepEqual(environmentSecrets(env, ['SCRIPTED_MODEL_ACCESS']).sort(), [
        'client-secret-0003',
        'db-password-0004',
        'gh-token-value-0002',
        'scripted-access-value-1',
        'sk-the-openai-key-0001',
      ]);
    });
  });

  describe('settings named like secrets', function () {
    const yes = [
      'token',
      'access_token',
      'refresh_token',
      'apiKey',
      'api_key',
      'API_KEY',
      'client_secret',
      'clientSecret',
      'password',
      'passwd',
      'auth',
      '//registry.npmjs.org/:_authToken',
      'private_key',
      'privateKey',
      'secret',
      'oauth_token',
      'key',
      'x-api-key',
    ];
    const no = [
      'token_type',
      'max_tokens',
      'tokenizer',
      'env_key',
      'key_path',
      'keybindings',
      'private_key_id',
      'selectedType',
      'model',
      'author',
      'monkey',
    ];
    it(`are: ${yes.join(', ')}`, function () {
      for (const n of yes) assert.ok(isSecretSetting(n), n);
    });
    it(`are not: ${no.join(', ')} (env_key names a key variable: the variable's value is the secret)`, function () {
      for (const n of no) assert.ok(!isSecretSetting(n), n);
    });
  });

  describe("the template HOME's files, by format", function () {
    it('JSON: values under secret names at any depth, not their neighbours', function () {
      const text = JSON.stringify({
        access_token: 'ya29.access-json-0001',
        token_type: 'Bearer',
        expiry_date: 1700000000000,
        providers: [{ name: 'scripted', apiKey: 'api-key-json-0002' }],
        security: { auth: { selectedType: 'gemini-api-key' } },
        auths: { 'https://index.docker.io/v1/': { auth: 'ZG9ja2VyOnB3LTAwMDM=' } },
      });
      assert.deepEqual(fileSecrets('oauth_creds.json', text).sort(), [
        'ZG9ja2VyOnB3LTAwMDM=',
        'api-key-json-0002',
        'ya29.access-json-0001',
      ]);
    });

    it('TOML and INI: `name = "value"`, quoted or not, a comment after it; a variable\'s name is not a value', function () {
      const toml = '[model_providers.scripted]\nname = "Scripted"\nenv_key = "SCRIPTED_MODEL_API_KEY"\nbearer_token = "toml-bearer-0001"\n';
      const ini =
        '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = ini-secret-0002 ; the key\nregion = eu-west-1\n';
      assert.deepEqual(fileSecrets('config.toml', toml), ['toml-bearer-0001']);
      assert.deepEqual(fileSecrets('credentials', ini), ['ini-secret-0002']);
    });

    it('YAML, .env and .npmrc lines', function () {
      assert.deepEqual(fileSecrets('hosts.yml', 'github.com:\n    oauth_token: gho_yaml0001\n    user: alice\n'), ['gho_yaml0001']);
      assert.deepEqual(fileSecrets('.env', 'export GH_TOKEN="env-file-0002"\nDEBUG=1\n'), ['env-file-0002']);
      assert.deepEqual(fileSecrets('.npmrc', '//registry.npmjs.org/:_authToken=npm_npmrc0003\nfund=false\n'), ['npm_npmrc0003']);
    });

    it('.netrc passwords, passwords in URLs, a token file of one line', function () {
      assert.deepEqual(
        fileSecrets(
          '.netrc',
          'machine api.example.com\n  login alice\n  password netrc-pass-0001\nmachine b login bob password netrc-pass-0002\n',
        ),
        ['netrc-pass-0001', 'netrc-pass-0002'],
      );
      assert.deepEqual(fileSecrets('.git-credentials', 'https://alice:url-pass-0003@github.com\n'), ['url-pass-0003']);
      assert.deepEqual(fileSecrets('token', 'one-line-token-0004\n'), ['one-line-token-0004']);
      assert.deepEqual(fileSecrets('README', 'just some words\n'), []);
    });

    it('reads the tree once: nested files; skips files over 1 MB, binary files, symbolic links and node_modules', async function () {
      const home = await tempDir();
      const outside = await tempDir();
      await mkdir(join(home, '.config', 'agent'), { recursive: true });
      await mkdir(join(home, 'node_modules', 'x'), { recursive: true });
      await writeFile(join(home, '.config', 'agent', 'auth.json'), JSON.stringify({ refresh_token: 'nested-refresh-0001' }));
      await writeFile(join(home, '.netrc'), 'machine m login l password home-netrc-0002\n');
      await writeFile(join(home, 'big.env'), `API_TOKEN=too-big-0003\n${'#'.repeat(MAX_FILE_BYTES)}\n`);
      await writeFile(join(home, 'bin.dat'), Buffer.concat([Buffer.from('password=binary-0004\n'), Buffer.from([0, 1, 2])]));
      await writeFile(join(home, 'node_modules', 'x', '.npmrc'), '_authToken=in-node-modules-0005\n');
      await writeFile(join(outside, 'secrets.env'), 'API_TOKEN=outside-0006\n');
      await symlink(join(outside, 'secrets.env'), join(home, 'linked.env'));
      assert.deepEqual((await homeSecrets(home)).sort(), ['home-netrc-0002', 'nested-refresh-0001']);
      assert.deepEqual(await homeSecrets(join(home, 'missing')), []);
      assert.deepEqual(await homeSecrets(undefined), []);
      const all = await agentSecrets({ KIRO_API_KEY: 'kiro-key-0007', PATH: '/bin' }, ['KIRO_API_KEY'], home);
      assert.deepEqual(all.sort(), ['home-netrc-0002', 'kiro-key-0007', 'nested-refresh-0001']);
    });
  });
});
