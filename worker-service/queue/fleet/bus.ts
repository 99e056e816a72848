// The fleet's pub/sub between hosts, typed both ways: what is published is a FleetEvent
// (encodeEvent), a cancel or a log bell; what arrives is parsed with validate.ts's schemas
// (checkEventMessage, checkCancelMessage, isFleetJobId) before anyone hears of it, and
// what fails is dropped and reported (never relayed, never trusted in part).
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { JobStatus } from '../../../shared/protocol.js';
import { channels, keys } from './keys.js';
import { checkCancelMessage, checkEventMessage, isFleetJobId, type FleetEvent } from './validate.js';

export interface BusEvents {
  /** A job changed on some host: its status as GET /jobs/:id gives it. */
  job: [JobStatus];
  /** Some host's slots changed. */
  slots: [];
  /** A cancel of this job was asked for (the host running it stops it). */
  cancel: [string];
  /** This job's log grew in Redis. */
  log: [string];
}

/** An event as it goes on the events channel (also published by records.ts's save script). */
export function encodeEvent(event: FleetEvent): string {
  return JSON.stringify(event);
}

export class FleetBus extends EventEmitter<BusEvents> {
  /**
   * `pub` publishes (fails at once while Redis is away); `sub` is given over to the
   * subscription; `dropped` hears of each malformed message.
   */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly dropped: (what: string, problem: string) => void,
  ) {
    super();
  }

  /** Not awaited by a starting host: it answers 503 while Redis is away, and subscribes once it is back. */
  subscribe(): Promise<void> {
    this.sub.on('message', (channel: string, message: string) => this.receive(channel, message));
    return this.sub.subscribe(channels.events, channels.cancel, channels.logs).then(() => undefined);
  }

  async publish(event: FleetEvent): Promise<void> {
    await this.pub.publish(channels.events, encodeEvent(event));
  }

  /** Asks every host to cancel the job; the flag stays a day for a holder that missed the message. */
  async cancel(id: string): Promise<void> {
    await this.pub
      .multi()
      .set(keys.cancel(id), '1', 'EX', 24 * 3600)
      .publish(channels.cancel, id)
      .exec();
  }

  private receive(channel: string, message: string): void {
    if (channel === channels.logs) {
      // The message is the job's id; anything else is no job's.
      if (isFleetJobId(message)) this.emit('log', message);
      return;
    }
    if (channel === channels.cancel) {
      const cancel = checkCancelMessage(message);
      if (cancel.ok) this.emit('cancel', cancel.value);
      else this.dropped('cancel message', cancel.problem);
      return;
    }
    if (channel !== channels.events) return;
    // Anything malformed on the channel (another version, another program) is dropped rather than trusted, or relayed.
    const checked = checkEventMessage(message);
    if (!checked.ok) return this.dropped('event message', checked.problem);
    if (checked.value.type === 'slots') this.emit('slots');
    else this.emit('job', checked.value.job);
  }
}
