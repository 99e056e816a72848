// The worker's Prometheus metrics, on a registry of its own (never prom-client's global
// one), so two apps in one process (tests, the benchmark) keep separate figures. What
// moves them is told here by the plugin (plugins/metrics.ts) from events the worker
// already emits. Labels come from short closed lists (states, error codes, phases, route
// patterns): never a job id, a branch, a login or other text from a request.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FINAL_STATES, type JobStatus, type PoolSlots } from '../../shared/protocol.js';
import { isErrorCode } from '../../shared/errorCodes.js';

/** Jobs whose final event was counted, remembered so that a repeated final event is not counted twice. */
const REMEMBERED_FINAL = 10_000;

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_PHASE = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SECONDS_AGENT = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export interface MetricsOptions {
  /** KIRO_AGENT of this host: the preset label of agent runs and usage. */
  preset: string;
  /** A fleet: this host's id. Only jobs this host ran are counted here (every host hears every job's events). */
  hostId?: string;
  /** Open streams by route pattern, read at each scrape. */
  openStreams?: () => ReadonlyMap<string, number>;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly counted = new Set<string>();
  private readonly agentStarts = new Map<string, number>();
  private readonly jobsFinished: Counter<'state' | 'code'>;
  private readonly queueDepth: Gauge;
  private readonly slotsBusy: Gauge<'host'>;
  private readonly slotsCapacity: Gauge<'host'>;
  private readonly phaseSeconds: Histogram<'phase'>;
  private readonly agentSeconds: Histogram<'preset'>;
  private readonly tokens: Counter<'preset' | 'kind'>;
  private readonly costUsd: Counter<'preset'>;
  private readonly deliveries: Counter<'event' | 'result'>;
  private readonly redisOutages: Counter<'connection'>;
  private readonly httpSeconds: Histogram<'route' | 'method' | 'status_class'>;

  constructor(private readonly opts: MetricsOptions) {
    const registers = [this.registry];
    this.jobsFinished = new Counter({
      name: 'kiro_jobs_finished_total',
      help: 'Jobs that reached a final state, by state and error code (none: no error)',
      labelNames: ['state', 'code'],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'kiro_queue_depth', help: 'Jobs waiting for a slot (a fleet: in the shared queue)', registers });
    this.slotsBusy = new Gauge({ name: 'kiro_slots_busy', help: 'Slots running a job, by worker host', labelNames: ['host'], registers });
    this.slotsCapacity = new Gauge({
      name: 'kiro_slots_capacity',
      help: 'Slots of a worker host (KIRO_WORKER_SLOTS)',
      labelNames: ['host'],
      registers,
    });
    this.phaseSeconds = new Histogram({
      name: 'kiro_job_phase_duration_seconds',
      help: "Time a job spent in each of the service's own phases (the agent's run aside)",
      labelNames: ['phase'],
      buckets: SECONDS_PHASE,
      registers,
    });
    this.agentSeconds = new Histogram({
      name: 'kiro_agent_run_duration_seconds',
      help: 'Wall time of an agent run, spawn to exit, by agent preset',
      labelNames: ['preset'],
      buckets: SECONDS_AGENT,
      registers,
    });
    this.tokens = new Counter({
      name: 'kiro_agent_tokens_total',
      help: 'Tokens the agents reported, by agent preset and kind (input, output)',
      labelNames: ['preset', 'kind'],
      registers,
    });
    this.costUsd = new Counter({
      name: 'kiro_agent_cost_usd_total',
      help: 'Cost in US dollars the agents reported (where their CLI says), by agent preset',
      labelNames: ['preset'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'kiro_webhook_deliveries_total',
      help: 'GitHub webhook deliveries by event (other: not one that starts work) and how they were answered',
      labelNames: ['event', 'result'],
      registers,
    });
    this.redisOutages = new Counter({
      name: 'kiro_redis_outages_total',
      help: "Times one of this host's Redis connections was lost, by connection",
      labelNames: ['connection'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'kiro_http_request_duration_seconds',
      help: 'HTTP requests by route pattern, method and status class',
      labelNames: ['route', 'method', 'status_class'],
      buckets: SECONDS_FAST,
      registers,
    });
    const streams = opts.openStreams;
    new Gauge({
      name: 'kiro_open_streams',
      help: 'Open event and log streams (GET /events, GET /jobs/:id/log), by route pattern',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const [route, n] of streams?.() ?? []) this.set({ route }, n);
      },
    });
  }

  /** A job's event: counted once, when final, on the host that ran it (a fleet) or here (one host). */
  job(status: JobStatus): void {
    if (!FINAL_STATES.has(status.state) || this.counted.has(status.jobId)) return;
    if (this.opts.hostId !== undefined && status.host !== this.opts.hostId) return;
    this.counted.add(status.jobId);
    if (this.counted.size > REMEMBERED_FINAL) this.counted.delete(this.counted.values().next().value ?? '');
    // A label, not an error body: a code this build does not know is counted as OTHER.
    const codeLabel = status.error ? (isErrorCode(status.error.code) ? status.error.code : 'OTHER') : 'none';
    this.jobsFinished.inc({ state: status.state, code: codeLabel });
    if (status.usage) {
      const preset = this.opts.preset;
      this.tokens.inc({ preset, kind: 'input' }, status.usage.inputTokens);
      this.tokens.inc({ preset, kind: 'output' }, status.usage.outputTokens);
      if (status.usage.costUsd !== undefined) this.costUsd.inc({ preset }, status.usage.costUsd);
    }
  }

  agentStarted(jobId: string, atMs: number): void {
    this.agentStarts.set(jobId, atMs);
  }

  agentExited(jobId: string, atMs: number): void {
    const start = this.agentStarts.get(jobId);
    this.agentStarts.delete(jobId);
    if (start !== undefined) this.agentSeconds.observe({ preset: this.opts.preset }, Math.max(0, atMs - start) / 1000);
  }

  /** A run's time by phase (ms); the agent's own phase is kiro_agent_run_duration_seconds. */
  runEnded(jobId: string, phasesMs: Readonly<Record<string, number>>): void {
    this.agentStarts.delete(jobId);
    for (const [phase, ms] of Object.entries(phasesMs)) if (phase !== 'agent') this.phaseSeconds.observe({ phase }, Math.max(0, ms) / 1000);
  }

  delivery(event: string, result: string): void {
    this.deliveries.inc({ event, result });
  }

  redisDown(connection: string): void {
    this.redisOutages.inc({ connection });
  }

  http(route: string, method: string, statusCode: number, seconds: number): void {
    this.httpSeconds.observe({ route, method, status_class: `${Math.floor(statusCode / 100)}xx` }, seconds);
  }

  /** The queue and the slots as the job service tells them now (at each scrape). */
  slots(pool: PoolSlots, localHost: string): void {
    this.queueDepth.set(pool.queued);
    this.slotsBusy.reset();
    this.slotsCapacity.reset();
    const hosts = pool.hosts ?? [{ id: localHost, busy: pool.running, slots: pool.capacity }];
    for (const h of hosts) {
      this.slotsBusy.set({ host: h.id }, h.busy);
      this.slotsCapacity.set({ host: h.id }, h.slots);
    }
  }

  /** The exposition text: this app's metrics, then the process's (Node's default metrics). */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + (await processRegistry().metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

let processMetrics: Registry | undefined;

/**
 * Node's default metrics describe the process, not an app, and collectDefaultMetrics
 * starts observers (GC, event-loop delay) that are never stopped: one registry for the
 * process, made at the first scrape, rather than one per app (tests build hundreds).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
