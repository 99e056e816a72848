// Addresses as the egress rules judge them (egressPolicy.ts): normalised first, so that an
// IPv4 address written as IPv6 (::ffff:169.254.169.254, ::ffff:a9fe:a9fe, NAT64
// 64:ff9b::a9fe:a9fe, 6to4 2002:a9fe:a9fe::) is judged as the IPv4 address it reaches;
// then link-local, public (RFC 6890), or this host.
import net from 'node:net';
import { networkInterfaces } from 'node:os';

/** The 8 groups of an IPv6 address (embedded dotted quad allowed), or null. */
function v6Groups(addr: string): number[] | null {
  if (!net.isIPv6(addr)) return null;
  let text = addr.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

const quadOf = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The address a connection to `addr` reaches, for judging: an IPv4 address as it is; an
 * IPv6 one that carries an IPv4 address (mapped, NAT64, 6to4) as that IPv4 address; any
 * other IPv6 address in its canonical lower-case form. null for something that is not an address.
 */
export function normalizeAddress(addr: string): { address: string; family: 4 | 6 } | null {
  if (net.isIPv4(addr)) return { address: addr, family: 4 };
  const g = v6Groups(addr);
  if (!g) return null;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeros = (xs: number[]) => xs.every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated; not :: nor ::1).
  if (zeros([g0, g1, g2, g3, g4]) && g5 === 0xffff) return { address: quadOf(g6, g7), family: 4 };
  if (zeros([g0, g1, g2, g3, g4, g5]) && (g6 !== 0 || g7 > 1)) return { address: quadOf(g6, g7), family: 4 };
  // NAT64, well-known and local-use prefixes: 64:ff9b::a.b.c.d, 64:ff9b:1::/48 (the last 32 bits).
  if (g0 === 0x64 && g1 === 0xff9b && (zeros([g2, g3, g4, g5]) || g2 === 1)) return { address: quadOf(g6, g7), family: 4 };
  // 6to4: 2002:AABB:CCDD::/48.
  if (g0 === 0x2002) return { address: quadOf(g1, g2), family: 4 };
  return { address: g.map((x) => x.toString(16)).join(':'), family: 6 };
}

function blockList(v4: string[], v6: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of v4) {
    const [a, bits] = cidr.split('/') as [string, string];
    list.addSubnet(a, Number(bits), 'ipv4');
  }
  for (const cidr of v6) {
    const [a, bits] = cidr.split('/') as [string, string];
    list.addSubnet(a, Number(bits), 'ipv6');
  }
  return list;
}

/** Link-local (IPv4 169.254.0.0/16: EC2's, GCP's, Azure's metadata service; IPv6 fe80::/10) and EC2's IPv6 metadata address. */
const LINK_LOCAL = blockList(['169.254.0.0/16'], ['fe80::/10', 'fd00:ec2::254/128']);

/** This host whatever its interfaces: loopback, and "this network" (a connection to 0.0.0.0 or :: reaches the host itself). */
const THIS_HOST = blockList(['127.0.0.0/8', '0.0.0.0/8'], ['::1/128', '::/128']);

/** Everything that is not the public internet (RFC 6890's special-purpose registries), for `open`. */
const NOT_PUBLIC = blockList(
  [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.88.99.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
  ],
  ['::/128', '::1/128', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8'],
);

/** Whether a normalised address is in `list`. */
export const inBlockList = (list: net.BlockList, a: { address: string; family: 4 | 6 }) =>
  list.check(a.address, a.family === 4 ? 'ipv4' : 'ipv6');

export function isLinkLocal(addr: string): boolean {
  const a = normalizeAddress(addr);
  return a !== null && inBlockList(LINK_LOCAL, a);
}

export function isPublicAddress(addr: string): boolean {
  const a = normalizeAddress(addr);
  return a !== null && !inBlockList(NOT_PUBLIC, a);
}

/** Whether `addr` is this host: loopback, unspecified, or one of its interfaces' addresses (read now: they change). */
export function isLocalAddress(addr: string): boolean {
  const a = normalizeAddress(addr);
  if (!a) return false;
  if (inBlockList(THIS_HOST, a)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      const own = normalizeAddress(i.address);
      if (own && own.family === a.family && own.address === a.address) return true;
    }
  }
  return false;
}
