// POST /github/webhook: GitHub's deliveries (an App's webhook, or a repository's or an
// organisation's: the same payloads and signature). The signature (X-Hub-Signature-256, an
// HMAC-SHA256 of the raw body with KIRO_GITHUB_WEBHOOK_SECRET, compared in constant time by
// @octokit/webhooks) is checked before anything is read from the body: missing or wrong,
// 401 and nothing done. A delivery is claimed once by its X-GitHub-Delivery on any host (a
// redelivery: 200, nothing twice), acknowledged (202) within milliseconds, and worked on after.
import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Webhooks } from '@octokit/webhooks';
import { Redis } from 'ioredis';
import Type from 'typebox';
import type { WorkerConfig } from '../config.js';
import { Feedback } from './feedback.js';
import { describe } from './github.js';
import { Steering, type Outcome } from './rounds.js';
import { FileSteeringStore, isDeliveryId, RedisSteeringStore, type SteeringStore } from './store.js';
import { HANDLED_EVENTS, PayloadError, triggerOf } from './triggers.js';

const AnswerSchema = Type.Object({
  outcome: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('ignored')]),
  message: Type.String(),
});
const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String() });

/** How a delivery was answered (the metrics count them by event and result). */
export type DeliveryResult = 'accepted' | 'duplicate' | 'ignored' | 'bad_signature' | 'bad_request' | 'unavailable';

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when KIRO_GITHUB_WEBHOOK_SECRET is set. */
    steering?: {
      store: SteeringStore;
      feedback: Feedback;
      handled(): Promise<Outcome[]>;
      /** Each delivery's answer: its event (one of HANDLED_EVENTS, else `other`) and result. */
      deliveries: EventEmitter<{ delivery: [event: string, result: DeliveryResult] }>;
    };
  }
}

export default fp<{ config: WorkerConfig }>(
  async function steeringPlugin(app: FastifyInstance, opts) {
    const { config } = opts;
    const hooks = config.webhooks;
    if (!hooks) return;
    const log = app.log.child({ part: 'webhook' });
    const webhooks = new Webhooks({ secret: hooks.secret });
    let redis: Redis | undefined;
    let store: SteeringStore;
    if (config.fleet) {
      // Its own connection, failing fast: a delivery during an outage gets 503 and GitHub may redeliver it.
      redis = new Redis(config.fleet.redisUrl, {
        connectionName: `kiro-steering-${config.fleet.workerId}`,
        maxRetriesPerRequest: 1,
        commandTimeout: 3_000,
      }).on('error', () => undefined);
      store = new RedisSteeringStore(redis);
    } else {
      const files = new FileSteeringStore(config.stateDir);
      await files.init();
      store = files;
    }
    const feedback = new Feedback({
      store,
      credentials: app.credentials,
      apiUrl: config.githubApiUrl,
      webUrl: config.gitBaseUrl,
      log,
      self: config.fleet?.workerId,
    });
    feedback.observe(app.jobs);
    const steering = new Steering({
      apiUrl: config.githubApiUrl,
      branchPrefix: config.identity.branchPrefix,
      allowedBots: hooks.allowedBots,
      credentials: app.credentials,
      facts: app.githubFacts,
      guard: app.guard,
      jobs: app.jobs,
      store,
      feedback,
      log,
    });
    // Deliveries acknowledged and still being worked on (close waits for them; tests read the outcomes).
    const working = new Set<Promise<Outcome>>();
    const outcomes: Outcome[] = [];
    const deliveries = new EventEmitter<{ delivery: [event: string, result: DeliveryResult] }>();
    app.decorate('steering', {
      store,
      feedback,
      deliveries,
      handled: async () => {
        while (working.size) await Promise.all([...working]);
        return [...outcomes];
      },
    });
    app.addHook('onClose', async () => {
      await Promise.all([...working]);
      await feedback.idle();
      redis?.disconnect();
    });

    await app.register(async (scope) => {
      // The raw bytes: the signature is over them, not over a re-serialised object.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.post(
        '/github/webhook',
        {
          config: {
            describedBody: {
              type: 'object',
              description:
                "The event's payload as GitHub sends it (issue_comment, pull_request_review, issues; others are ignored): X-GitHub-Event names it, X-Hub-Signature-256 signs its bytes",
            },
          },
          schema: {
            summary: 'GitHub webhook deliveries (authenticated by their X-Hub-Signature-256 signature, not a worker token)',
            response: { 200: AnswerSchema, 202: AnswerSchema, '4xx': ErrorSchema, '5xx': ErrorSchema },
          },
        },
        async (req, reply) => {
          // The event's name is a label only when it is one we handle: never the sender's own text.
          const named = req.headers['x-github-event'];
          const tell = (result: DeliveryResult) =>
            deliveries.emit('delivery', typeof named === 'string' && HANDLED_EVENTS.has(named) ? named : 'other', result);
          const signature = req.headers['x-hub-signature-256'];
          const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : undefined;
          const valid = typeof signature === 'string' && raw !== undefined && (await webhooks.verify(raw, signature).catch(() => false));
          if (!valid) {
            log.warn({ ip: req.ip }, 'webhook: a delivery with a missing or wrong signature was refused');
            tell('bad_signature');
            return reply.code(401).send({
              code: 'BAD_SIGNATURE',
              message:
                "X-Hub-Signature-256 is missing or does not match KIRO_GITHUB_WEBHOOK_SECRET: set the same secret in the webhook's settings on GitHub",
            });
          }
          const id = req.headers['x-github-delivery'];
          const event = req.headers['x-github-event'];
          if (typeof id !== 'string' || !isDeliveryId(id) || typeof event !== 'string' || !/^[a-z_]{1,64}$/.test(event)) {
            tell('bad_request');
            return reply.code(400).send({ code: 'BAD_REQUEST', message: 'X-GitHub-Delivery and X-GitHub-Event are required' });
          }
          if (!HANDLED_EVENTS.has(event)) {
            tell('ignored');
            return reply.code(202).send({ outcome: 'ignored', message: `${event} events start no work` });
          }
          let trigger;
          try {
            trigger = triggerOf(event, JSON.parse(raw));
          } catch (e) {
            const why = e instanceof PayloadError ? e.message : 'the body is not JSON';
            tell('bad_request');
            return reply.code(400).send({ code: 'BAD_REQUEST', message: why });
          }
          if (!trigger) {
            tell('ignored');
            return reply.code(202).send({ outcome: 'ignored', message: 'nothing asks for Kiro here' });
          }
          let first: boolean;
          try {
            first = await store.claimDelivery(id);
          } catch (e) {
            log.warn({ deliveryId: id, err: describe(e) }, 'webhook: could not record the delivery');
            tell('unavailable');
            return reply.code(503).header('retry-after', '30').send({
              code: 'QUEUE_UNAVAILABLE',
              message: "the worker cannot record deliveries right now; redeliver it from the webhook's settings",
            });
          }
          if (!first) {
            tell('duplicate');
            return reply.code(200).send({ outcome: 'duplicate', message: `delivery ${id} was received before` });
          }
          const work = steering.handle(id, trigger, req.ip).catch((e: unknown): Outcome => {
            log.warn({ deliveryId: id, err: describe(e) }, 'webhook: the delivery failed');
            return { kind: 'refused', code: 'INTERNAL', why: describe(e) };
          });
          working.add(work);
          void work.then((o) => {
            working.delete(work);
            outcomes.push(o);
            if (outcomes.length > 1000) outcomes.shift();
          });
          log.info({ deliveryId: id, event, kind: trigger.kind, login: trigger.actor.login }, 'webhook: delivery accepted');
          tell('accepted');
          return reply.code(202).send({ outcome: 'accepted', message: `delivery ${id} accepted` });
        },
      );
    });
  },
  { name: 'steering', dependencies: ['pool', 'guard'] },
);
