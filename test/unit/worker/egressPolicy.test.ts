// The agent network's pure parts: the default policy per preset, KIRO_AGENT_ALLOW_HOSTS and
// @registries, how addresses are judged (link-local, public, this host, whatever way they are
// written), the forbidden destinations, the decision the egress proxy acts on, and what
// /health, the terminal and the PR comment say about it.
import assert from 'node:assert/strict';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { loadConfig } from '../../../worker-service/config.js';
import { presetHosts } from '../../../worker-service/agent/presets.js';
import {
  EgressRules,
  ForbiddenTargets,
  NAMED_SETS,
  parseHostList,
  redisTarget,
  type Lookup,
} from '../../../worker-service/sandbox/egressPolicy.js';
import { isLinkLocal, isLocalAddress, isPublicAddress, normalizeAddress } from '../../../worker-service/sandbox/addresses.js';
import { blockedNote as terminalNote } from '../../../worker-service/sandbox/jobEgress.js';
import { describeNetwork } from '../../../worker-service/sandbox/sandbox.js';
import { blockedNote as commentNote } from '../../../worker-service/github/blockedNote.js';
import { commentBody } from '../../../worker-service/github/comments.js';
import type { Job } from '../../../worker-service/jobs/job.js';

const base = { KIRO_WORKER_STATE_DIR: '/tmp/s' };
const network = (env: Record<string, string>) => loadConfig({ ...base, ...env }).sandbox.network;

describe('agent network: the default policy', function () {
  it("is each preset's model API hosts, on 443, through the proxy", function () {
    assert.deepEqual(network({ KIRO_AGENT: 'claude', ANTHROPIC_API_KEY: 'k' }), {
      mode: 'allow',
      hosts: ['api.anthropic.com:443'],
      default: true,
    });
    assert.deepEqual(network({ KIRO_AGENT: 'codex', OPENAI_API_KEY: 'k' }), {
      mode: 'allow',
      hosts: ['api.openai.com:443'],
      default: true,
    });
    assert.deepEqual(network({ KIRO_AGENT: 'gemini', GEMINI_API_KEY: 'k' }), {
      mode: 'allow',
      hosts: ['generativelanguage.googleapis.com:443'],
      default: true,
    });
    assert.deepEqual(network({}), {
      mode: 'allow',
      hosts: [
        'q.us-east-1.amazonaws.com:443',
        'codewhisperer.us-east-1.amazonaws.com:443',
        'q.eu-central-1.amazonaws.com:443',
        'codewhisperer.eu-central-1.amazonaws.com:443',
      ],
      default: true,
    });
    // A custom agent is not known: nothing until the operator names it.
    assert.deepEqual(network({ KIRO_AGENT_COMMAND: '["my-agent"]' }), { mode: 'allow', hosts: [], default: true });
  });

  it('opencode: the API host of each provider whose key the service has; all of them when it logs in from the template HOME', function () {
    assert.deepEqual(network({ KIRO_AGENT: 'opencode', ANTHROPIC_API_KEY: 'k' }), {
      mode: 'allow',
      hosts: ['api.anthropic.com:443'],
      default: true,
    });
    assert.deepEqual(presetHosts('opencode', undefined, { OPENROUTER_API_KEY: 'k', OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: '' }), [
      'api.openai.com:443',
      'openrouter.ai:443',
    ]);
    assert.deepEqual(presetHosts('opencode', 'none', {}), [
      'api.anthropic.com:443',
      'api.openai.com:443',
      'openrouter.ai:443',
      'generativelanguage.googleapis.com:443',
      'opencode.ai:443',
    ]);
    // A key variable of the operator's own: the provider is theirs to name.
    assert.deepEqual(presetHosts('opencode', 'MY_GATEWAY_KEY', { MY_GATEWAY_KEY: 'k' }), []);
  });

  it('a login kept in the template HOME (KIRO_AGENT_KEY_VAR=none) adds the hosts its token refresh and subscription need', function () {
    assert.deepEqual(presetHosts('codex', 'none', {}), ['api.openai.com:443', 'chatgpt.com:443', 'auth.openai.com:443']);
    assert.deepEqual(presetHosts('claude', 'none', {}), ['api.anthropic.com:443', 'console.anthropic.com:443', 'platform.claude.com:443']);
    assert.deepEqual(presetHosts('gemini', 'none', {}), [
      'generativelanguage.googleapis.com:443',
      'cloudcode-pa.googleapis.com:443',
      'oauth2.googleapis.com:443',
    ]);
    assert.deepEqual(presetHosts('codex', undefined, {}), ['api.openai.com:443']);
  });

  it('KIRO_AGENT_ALLOW_HOSTS adds hosts and named sets to the default, to allow: and to open', function () {
    const env = { KIRO_AGENT: 'claude', ANTHROPIC_API_KEY: 'k', KIRO_AGENT_ALLOW_HOSTS: 'GitHub.com, api.anthropic.com:443,@registries' };
    const n = network(env);
    assert.equal(n.mode, 'allow');
    assert.deepEqual(n.mode === 'allow' && n.hosts, ['api.anthropic.com:443', 'github.com', ...(NAMED_SETS['@registries'] ?? [])]);
    assert.deepEqual(network({ ...env, KIRO_AGENT_NETWORK: 'allow:example.com' }), {
      mode: 'allow',
      hosts: ['example.com', 'github.com', 'api.anthropic.com:443', ...(NAMED_SETS['@registries'] ?? [])],
    });
    assert.deepEqual(network({ KIRO_AGENT_NETWORK: 'open', KIRO_AGENT_ALLOW_HOSTS: 'npm.internal:8443' }), {
      mode: 'open',
      hosts: ['npm.internal:8443'],
    });
    assert.deepEqual(network({ KIRO_AGENT_NETWORK: 'allow:@registries' }), {
      mode: 'allow',
      hosts: [...(NAMED_SETS['@registries'] ?? [])],
    });
  });

  it('@registries is the common package registries', function () {
    const hosts = new Set(parseHostList('@registries').map((h) => h.replace(/:\d+$/, '')));
    for (const h of [
      'registry.npmjs.org',
      'pypi.org',
      'files.pythonhosted.org',
      'crates.io',
      'static.crates.io',
      'index.crates.io',
      'proxy.golang.org',
      'sum.golang.org',
      'repo.maven.apache.org',
      'rubygems.org',
      'deb.debian.org',
      'security.debian.org',
      'archive.ubuntu.com',
      'security.ubuntu.com',
    ])
      assert.ok(hosts.has(h), h);
    // apt goes to the archives over plain HTTP by default.
    assert.ok(parseHostList('@registries').includes('deb.debian.org:80'));
  });

  it('refuses what it cannot honour, naming the variable', function () {
    assert.throws(() => network({ KIRO_AGENT_ALLOW_HOSTS: '@everything' }), /KIRO_AGENT_ALLOW_HOSTS: "@everything": no such named set/);
    assert.throws(() => network({ KIRO_AGENT_ALLOW_HOSTS: '*.npmjs.org' }), /KIRO_AGENT_ALLOW_HOSTS: .*wildcards/);
    assert.throws(() => network({ KIRO_AGENT_ALLOW_HOSTS: 'a.com,,b.com' }), /KIRO_AGENT_ALLOW_HOSTS: entry 2/);
    assert.throws(
      () => network({ KIRO_AGENT_NETWORK: 'none', KIRO_AGENT_ALLOW_HOSTS: 'a.com' }),
      /KIRO_AGENT_ALLOW_HOSTS: KIRO_AGENT_NETWORK=none/,
    );
    assert.throws(() => network({ KIRO_AGENT_NETWORK: 'allow:@nope' }), /KIRO_AGENT_NETWORK: "@nope"/);
    assert.throws(() => network({ KIRO_AGENT_NETWORK: 'host' }), /KIRO_AGENT_NETWORK: expected open, none or allow:/);
    // Explicit modes keep working as before.
    assert.deepEqual(network({ KIRO_AGENT_NETWORK: 'open' }), { mode: 'open' });
    assert.deepEqual(network({ KIRO_AGENT_NETWORK: 'none' }), { mode: 'none' });
    assert.deepEqual(network({ KIRO_AGENT_NETWORK: 'allow:api.example.com' }), { mode: 'allow', hosts: ['api.example.com'] });
  });
});

describe('agent network: addresses', function () {
  it('judges an IPv4 address written as IPv6 (mapped, compatible, NAT64, 6to4) as the IPv4 address it reaches', function () {
    for (const a of [
      '::ffff:169.254.169.254',
      '::FFFF:a9fe:a9fe',
      '0:0:0:0:0:ffff:a9fe:a9fe',
      '::169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
    ]) {
      assert.deepEqual(normalizeAddress(a), { address: '169.254.169.254', family: 4 }, a);
    }
    assert.deepEqual(normalizeAddress('FD00:EC2:0::254'), { address: 'fd00:ec2:0:0:0:0:0:254', family: 6 });
    assert.deepEqual(normalizeAddress('::1'), { address: '0:0:0:0:0:0:0:1', family: 6 });
    assert.equal(normalizeAddress('169.254.169.254.nip.io'), null);
  });

  it("link-local: 169.254.0.0/16, fe80::/10 and EC2's fd00:ec2::254, however written", function () {
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      '169.254.170.2',
      'fe80::1',
      'FE80::a:b%eth0',
      'febf::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
    ]) {
      assert.equal(isLinkLocal(a), true, a);
    }
    for (const a of ['169.253.255.255', '169.255.0.0', 'fec0::1', 'fd00:ec2::253', '8.8.8.8', '::1'])
      assert.equal(isLinkLocal(a), false, a);
  });

  it('public: not private, loopback, link-local, shared, documentation, multicast or reserved', function () {
    for (const a of ['8.8.8.8', '1.1.1.1', '151.101.1.69', '2606:4700:4700::1111', '2a00:1450:4001::1'])
      assert.equal(isPublicAddress(a), true, a);
    for (const a of [
      '10.0.0.5',
      '172.16.3.4',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '127.0.0.1',
      '0.0.0.0',
      '169.254.169.254',
      '192.0.2.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'ff02::1',
      '2001:db8::1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
    ])
      assert.equal(isPublicAddress(a), false, a);
  });

  it("this host: loopback, the unspecified addresses and every interface's own address", function () {
    for (const a of ['127.0.0.1', '127.3.2.1', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1']) assert.equal(isLocalAddress(a), true, a);
    const own = Object.values(networkInterfaces())
      .flat()
      .map((i) => i?.address)
      .filter((a): a is string => !!a);
    for (const a of own) assert.equal(isLocalAddress(a), true, a);
    assert.equal(isLocalAddress('8.8.8.8'), false);
  });

  it("Redis's host and port from KIRO_REDIS_URL", function () {
    assert.deepEqual(redisTarget('redis://:pw@10.0.3.4:6380/0'), { host: '10.0.3.4', port: 6380 });
    assert.deepEqual(redisTarget('rediss://user:pw@primary.cache.amazonaws.com/0'), { host: 'primary.cache.amazonaws.com', port: 6379 });
    assert.deepEqual(redisTarget('redis://[::1]:7000'), { host: '::1', port: 7000 });
    assert.equal(redisTarget(undefined), undefined);
  });
});

describe('agent network: the decision', function () {
  const names: Record<string, string[]> = {
    'api.example.com': ['93.184.215.14'],
    'metadata.google.internal': ['169.254.169.254'],
    'rebound.example.com': ['127.0.0.1'],
    'both.example.com': ['169.254.169.254', '93.184.215.14'],
    'cache.internal': ['10.0.3.4'],
    'intranet.example.com': ['10.1.2.3'],
    localhost: ['::1', '127.0.0.1'],
  };
  const asked: string[] = [];
  const lookup: Lookup = async (host) => {
    asked.push(host);
    const a = names[host];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
  };
  const forbidden = new ForbiddenTargets({ workerPorts: () => [8080], redis: { host: 'cache.internal', port: 6379 }, lookup });

  it('allow: the name must be listed, and is then judged by every address it resolves to', async function () {
    const rules = new EgressRules({
      mode: 'allow',
      allow: [
        'api.example.com:443',
        'metadata.google.internal',
        'both.example.com',
        '169.254.169.254',
        'localhost:8080',
        '127.0.0.1',
        'cache.internal:6379',
        '10.0.3.4',
      ],
      forbidden,
      lookup,
    });
    asked.length = 0;
    assert.deepEqual(await rules.decide('registry.npmjs.org', 443), { ok: false, reason: 'not-allowed' });
    assert.deepEqual(asked, [], 'a name off the list is never looked up');
    assert.deepEqual(await rules.decide('api.example.com', 443), { ok: true, addresses: ['93.184.215.14'] });
    assert.deepEqual(await rules.decide('api.example.com', 80), { ok: false, reason: 'not-allowed' });
    // Listed, and still never: the cloud's metadata service, this worker, Redis.
    assert.deepEqual(await rules.decide('metadata.google.internal', 80), { ok: false, reason: 'link-local', address: '169.254.169.254' });
    assert.deepEqual(await rules.decide('169.254.169.254', 80), { ok: false, reason: 'link-local', address: '169.254.169.254' });
    assert.deepEqual(await rules.decide('127.0.0.1', 8080), { ok: false, reason: 'worker', address: '127.0.0.1' });
    assert.deepEqual(await rules.decide('cache.internal', 6379), { ok: false, reason: 'redis', address: '10.0.3.4' });
    assert.deepEqual(await rules.decide('10.0.3.4', 6379), { ok: false, reason: 'redis', address: '10.0.3.4' });
    // A name with a forbidden and an allowed answer is reached at the allowed one only.
    assert.deepEqual(await rules.decide('both.example.com', 443), { ok: true, addresses: ['93.184.215.14'] });
    // Listed, loopback but not this worker's port: the operator's choice.
    assert.deepEqual(await rules.decide('127.0.0.1', 9000), { ok: true, addresses: ['127.0.0.1'] });
    assert.deepEqual(await rules.decide('10.0.3.4', 6380), { ok: true, addresses: ['10.0.3.4'] });
  });

  it('open: any public address, a listed host wherever it is, never the forbidden ones', async function () {
    const rules = new EgressRules({ mode: 'open', allow: ['intranet.example.com:443', 'localhost:8080'], forbidden, lookup });
    assert.deepEqual(await rules.decide('api.example.com', 443), { ok: true, addresses: ['93.184.215.14'] });
    assert.deepEqual(await rules.decide('8.8.8.8', 53), { ok: true, addresses: ['8.8.8.8'] });
    assert.deepEqual(await rules.decide('rebound.example.com', 443), { ok: false, reason: 'private', address: '127.0.0.1' });
    assert.deepEqual(await rules.decide('10.1.2.3', 443), { ok: false, reason: 'private', address: '10.1.2.3' });
    assert.deepEqual(await rules.decide('intranet.example.com', 443), { ok: true, addresses: ['10.1.2.3'] });
    assert.deepEqual(await rules.decide('intranet.example.com', 22), { ok: false, reason: 'private', address: '10.1.2.3' });
    assert.deepEqual(await rules.decide('metadata.google.internal', 80), { ok: false, reason: 'link-local', address: '169.254.169.254' });
    assert.deepEqual(await rules.decide('localhost', 8080), { ok: false, reason: 'worker', address: '::1' });
    assert.deepEqual(await rules.decide('::ffff:a9fe:a9fe', 80), { ok: false, reason: 'link-local', address: '::ffff:a9fe:a9fe' });
    assert.deepEqual(await rules.decide('nowhere.example.com', 443), { ok: false, unresolved: 'ENOTFOUND' });
  });

  it('Redis is refused at every address of this host when it runs here, and looked up again at each check', async function () {
    let redisAt = '127.0.0.1';
    const local = new ForbiddenTargets({
      redis: { host: 'redis.local', port: 6379 },
      lookup: async () => [{ address: redisAt, family: 4 }],
    });
    assert.equal(await local.reason('x', '127.0.0.1', 6379), 'redis');
    assert.equal(await local.reason('x', '::1', 6379), 'redis');
    assert.equal(await local.reason('x', '8.8.8.8', 6379), null);
    assert.equal(await local.reason('redis.local', '8.8.8.8', 6379), 'redis', 'by name, whatever it resolved to');
    redisAt = '10.9.9.9'; // a failover
    assert.equal(await local.reason('x', '10.9.9.9', 6379), 'redis');
    assert.equal(await local.reason('x', '10.9.9.9', 6380), null);
  });
});

describe('agent network: what people read', function () {
  it('/health names the policy and its first host', function () {
    assert.deepEqual(describeNetwork({ mode: 'allow', hosts: ['api.anthropic.com:443'], default: true }), {
      network: 'allow: api.anthropic.com:443 (default)',
      allowHosts: ['api.anthropic.com:443'],
    });
    assert.equal(describeNetwork({ mode: 'allow', hosts: ['a.com', 'b.com', 'c.com'] }).network, 'allow: a.com + 2 more');
    assert.equal(describeNetwork({ mode: 'allow', hosts: [], default: true }).network, 'allow: no host (default)');
    assert.deepEqual(describeNetwork({ mode: 'open' }), { network: 'open: any public address', allowHosts: [] });
    assert.equal(describeNetwork({ mode: 'open', hosts: ['npm.internal'] }).network, 'open: any public address + 1 listed host');
    assert.deepEqual(describeNetwork({ mode: 'none' }), { network: 'none' });
  });

  it("the terminal's note says what to do, or that nothing can be done", function () {
    assert.equal(
      terminalNote({ host: 'registry.npmjs.org', port: 443, reason: 'not-allowed' }),
      'blocked: registry.npmjs.org:443 — add it to KIRO_AGENT_ALLOW_HOSTS',
    );
    assert.equal(
      terminalNote({ host: '169.254.169.254', port: 80, reason: 'link-local' }),
      "blocked: 169.254.169.254:80 — link-local (a cloud's metadata service); no agent may reach it",
    );
    assert.equal(
      terminalNote({ host: '::1', port: 8080, reason: 'worker' }),
      "blocked: [::1]:8080 — this worker's own API; no agent may reach it",
    );
  });

  it('the PR comment lists each refused destination once, with how often and why', function () {
    const job = {
      id: 'j1',
      state: 'no-changes',
      attempts: 1,
      exitCode: 0,
      signal: null,
      error: null,
      outputTail: [],
      request: { branch: 'b' },
      blocked: [
        { host: 'registry.npmjs.org', port: 443, at: '2026-01-01T00:00:00.000Z', reason: 'not-allowed', count: 3 },
        { host: 'fd00:ec2::254', port: 80, at: '2026-01-01T00:00:01.000Z', reason: 'link-local', count: 1 },
      ],
    } as unknown as Job;
    const note = commentNote(job);
    assert.match(note, /^\*\*Blocked network requests\*\*/);
    assert.match(note, /^- `registry\.npmjs\.org:443` \(3 times\): not on the allow list: add it to `KIRO_AGENT_ALLOW_HOSTS`/m);
    assert.match(note, /^- `\[fd00:ec2::254\]:80`: link-local/m);
    assert.ok(commentBody(job).includes(note), 'the comment carries it');
    assert.equal(commentNote({ blocked: null }), '');
    assert.doesNotMatch(commentBody({ ...job, blocked: [] }), /Blocked/);
  });
});
