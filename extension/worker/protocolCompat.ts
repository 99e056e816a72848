// Whether this extension understands the worker's protocol (GET /health `protocol`,
// shared/protocol.ts PROTOCOL_VERSION), and what to tell the user when it does not.
import { PROTOCOL_VERSION } from '../../shared/protocol.js';

/** The protocol versions this extension speaks: the oldest it still reads, and its own. */
export const UNDERSTOOD_PROTOCOLS = { oldest: 1, newest: PROTOCOL_VERSION } as const;

export type ProtocolCompat =
  | { kind: 'compatible'; worker: number }
  /** `worker` undefined: the worker did not say (older than the field, or not a Kiro worker). */
  | { kind: 'worker-older'; worker: number | undefined; oldest: number }
  | { kind: 'worker-newer'; worker: number; newest: number };

/** Compares the worker's protocol (the raw /health value) with what this extension understands. */
export function compareProtocol(worker: unknown, understood: { oldest: number; newest: number } = UNDERSTOOD_PROTOCOLS): ProtocolCompat {
  if (typeof worker !== 'number' || !Number.isInteger(worker))
    return { kind: 'worker-older', worker: undefined, oldest: understood.oldest };
  if (worker < understood.oldest) return { kind: 'worker-older', worker, oldest: understood.oldest };
  if (worker > understood.newest) return { kind: 'worker-newer', worker, newest: understood.newest };
  return { kind: 'compatible', worker };
}

/** One plain sentence: what is wrong and who updates what; undefined when compatible. */
export function protocolProblem(c: ProtocolCompat, workerUrl?: string): string | undefined {
  const worker = `The Kiro worker${workerUrl ? ` at ${workerUrl}` : ''}`;
  switch (c.kind) {
    case 'compatible':
      return undefined;
    case 'worker-older':
      return `${worker} is older than this extension understands (its protocol: ${c.worker ?? 'not stated'}; this extension needs ${c.oldest} or later). Update the worker service (ask whoever runs it), or delegations may fail.`;
    case 'worker-newer':
      return `${worker} is newer than this extension understands (its protocol: ${c.worker}; this extension knows up to ${c.newest}). Update the Kiro Delegate extension, or delegations may fail.`;
    default: {
      const never: never = c;
      return never;
    }
  }
}
