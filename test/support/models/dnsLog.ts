// A DNS responder that only listens: it records every name asked of it over UDP
// and answers NXDOMAIN, so a test run inside a network namespace (with a
// resolv.conf pointing here) learns which names an agent tried to look up.
import { createSocket, type Socket } from 'node:dgram';

export interface DnsQuery {
  name: string;
  type: number;
}

/** The first question of a DNS message: labels from offset 12 up to the zero byte, then QTYPE. */
export function parseQuestion(msg: Buffer): { query: DnsQuery; end: number } | null {
  if (msg.length < 17) return null;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i] ?? 0;
    if (len > 63 || i + 1 + len > msg.length) return null; // no compression pointers in a question
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return null;
  return { query: { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1) }, end: i + 5 };
}

export class DnsLog {
  readonly queries: DnsQuery[] = [];

  private constructor(private readonly socket: Socket) {}

  static async start(port = 53, host = '127.0.0.1'): Promise<DnsLog> {
    const socket = createSocket('udp4');
    const log = new DnsLog(socket);
    socket.on('message', (msg, peer) => {
      const q = parseQuestion(msg);
      if (!q) return;
      log.queries.push(q.query);
      // Header: same id, QR=1, opcode and RD copied, RA=1, RCODE=3 (NXDOMAIN); one question, no answers.
      const reply = Buffer.concat([Buffer.alloc(12), msg.subarray(12, q.end)]);
      msg.copy(reply, 0, 0, 2);
      reply[2] = 0x80 | ((msg[2] ?? 0) & 0x79);
      reply[3] = 0x80 | 3;
      reply.writeUInt16BE(1, 4);
      socket.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => resolve());
    });
    return log;
  }

  get names(): string[] {
    return [...new Set(this.queries.map((q) => q.name))];
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
