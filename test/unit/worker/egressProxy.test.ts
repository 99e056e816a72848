import assert from 'node:assert/strict';
import { parseAllowList } from '../../../worker-service/sandbox/egressProxy.js';
import { parseBridgeArgs, exitStatus, BridgeUsageError, BRIDGE_FAILED } from '../../../worker-service/sandbox/netBridge.js';

describe('egress allow list', function () {
  it('lower-cases hosts and keeps an optional port', function () {
    assert.deepEqual(parseAllowList('API.Anthropic.com, registry.npmjs.org:443,127.0.0.1:8080,localhost'), [
      'api.anthropic.com',
      'registry.npmjs.org:443',
      '127.0.0.1:8080',
      'localhost',
    ]);
  });

  it('accepts bracketed IPv6 addresses, with or without a port', function () {
    assert.deepEqual(parseAllowList('[::1],[FE80::1]:443'), ['[::1]', '[fe80::1]:443']);
  });

  it('says what is wrong with a bad entry', function () {
    const fails = (spec: string, what: RegExp) =>
      assert.throws(
        () => parseAllowList(spec),
        (e: unknown) => e instanceof Error && what.test(e.message),
        spec,
      );
    fails('', /names no host/);
    fails('   ', /names no host/);
    fails('a.com,,b.com', /entry 2 .*empty/);
    fails('a.com,', /entry 2 .*empty/);
    fails('*.github.com', /wildcards are not supported/);
    fails('https://github.com', /not a URL/);
    fails('git hub.com', /not a valid host name/);
    fails('-bad.com', /not a valid host name/);
    fails('a..com', /not a valid host name/);
    fails(`${'a'.repeat(64)}.com`, /not a valid host name/);
    fails(':443', /host name is empty/);
    fails('github.com:', /port must be a number from 1 to 65535/);
    fails('github.com:0', /port must be a number/);
    fails('github.com:65536', /port must be a number/);
    fails('github.com:https', /port must be a number/);
    fails('::1', /IPv6 address must be written \[address\]/);
    fails('[::1', /IPv6 address must be written/);
    fails('[not-v6]:80', /IPv6 address must be written/);
  });
});

describe('net-bridge arguments', function () {
  it('parses <port> <socketPath> -- <argv...>, keeping the agent argv verbatim', function () {
    assert.deepEqual(parseBridgeArgs(['3128', '/run/kiro/egress.sock', '--', 'kiro-cli', 'chat', '--', '-x', '']), {
      port: 3128,
      socketPath: '/run/kiro/egress.sock',
      argv: ['kiro-cli', 'chat', '--', '-x', ''],
    });
  });

  it('refuses bad arguments with a usage error', function () {
    const bad = (args: string[], what: RegExp) =>
      assert.throws(
        () => parseBridgeArgs(args),
        (e: unknown) => BridgeUsageError.is(e) && e.code === 'BRIDGE_USAGE' && what.test(e.message),
        args.join(' '),
      );
    bad([], /usage:/);
    bad(['3128', '/s', 'agent'], /usage:/);
    bad(['3128', '--', 'agent'], /usage:/);
    bad(['3128', '/s', '--'], /no command to run/);
    bad(['3128', '/s', '--', ''], /no command to run/);
    bad(['0', '/s', '--', 'agent'], /port must be a number from 1 to 65535/);
    bad(['65536', '/s', '--', 'agent'], /port must be/);
    bad(['http', '/s', '--', 'agent'], /port must be/);
    bad(['3128', '', '--', 'agent'], /socket path is empty/);
  });

  it('maps the child status the way a shell does', function () {
    assert.equal(exitStatus(0, null), 0);
    assert.equal(exitStatus(7, null), 7);
    assert.equal(exitStatus(null, 'SIGTERM'), 143);
    assert.equal(exitStatus(null, 'SIGKILL'), 137);
    assert.equal(BRIDGE_FAILED, 125);
  });
});
