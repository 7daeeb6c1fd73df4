import { findCondition } from "../api/conditions.js";
import { SANDBOX_PHASES } from "../api/workshop.js";
import { CapacityLedger } from "../core/capacity-ledger.js";
import { namespaceFor } from "../core/sandbox-plan.js";
import type { SandboxDefaults } from "../core/operator-config.js";
import type { Logger } from "../logger.js";
import { ClusterCache } from "./cluster-cache.js";
import { EventRecorder } from "./events.js";
import { IdleProbe } from "./idle-probe.js";
import { type KubeClient, WorkQueue } from "@launchbay/kube";
import type { OperatorMetrics } from "./metrics.js";
import { SandboxReconciler } from "./sandbox-reconciler.js";
import { WorkArchiver } from "./work-archiver.js";
import { WorkshopReconciler } from "./workshop-reconciler.js";
import type { S3Store } from "@launchbay/archive";

export interface ControllerOptions {
  concurrency: number;
  resyncMs: number;
  idleProbeMs: number;
  notebookUrlTemplate: string;
  watchNamespace?: string;
  defaults: SandboxDefaults;
  /** Object storage for attendees' work (with defaults.archive); unset: no archives. */
  archive?: { store: S3Store; sweepMs: number };
}

/** How long workshop status updates are coalesced after a sandbox changes. */
const WORKSHOP_COALESCE_MS = 1000;

/**
 * The controllers: informers feed two keyed work queues (sandboxes, workshops); each
 * key is reconciled level-based; a periodic resync re-queues everything; an idle prober
 * asks notebooks of idle-timed workshops for their last activity.
 */
export class Controllers {
  readonly cache: ClusterCache;
  readonly sandboxQueue: WorkQueue;
  readonly workshopQueue: WorkQueue;
  private readonly ledger = new CapacityLedger();
  private readonly activity = new Map<string, number>();
  private readonly sandboxes: SandboxReconciler;
  private readonly workshops: WorkshopReconciler;
  private readonly idle: IdleProbe;
  readonly archiver?: WorkArchiver;
  private timers: NodeJS.Timeout[] = [];
  private started = false;

  constructor(
    client: KubeClient,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.cache = new ClusterCache(client, log, options.watchNamespace);
    const queueOptions = { concurrency: options.concurrency, baseRetryMs: 200, maxRetryMs: 60_000 };
    this.sandboxQueue = new WorkQueue(queueOptions);
    this.workshopQueue = new WorkQueue({ ...queueOptions, concurrency: 2 });
    this.idle = new IdleProbe(client, options.notebookUrlTemplate, log);
    if (options.archive) {
      this.archiver = new WorkArchiver({
        store: options.archive.store,
        client,
        cache: this.cache,
        log,
      });
    }
    this.sandboxes = new SandboxReconciler({
      client,
      cache: this.cache,
      ledger: this.ledger,
      events: new EventRecorder(client, log),
      metrics,
      defaults: options.defaults,
      idle: this.idle,
      activity: this.activity,
      log,
      ...(this.archiver ? { archiver: this.archiver } : {}),
    });
    this.workshops = new WorkshopReconciler({ client, cache: this.cache, log });
    for (const [queue, name] of [
      [this.sandboxQueue, "sandbox"],
      [this.workshopQueue, "workshop"],
    ] as const) {
      queue.onError.push((key, error, retryInMs) => {
        metrics.retries.inc({ controller: name });
        log.warn(
          { controller: name, key, err: (error as Error).message, retryInMs },
          "Reconcile failed; retrying",
        );
      });
      queue.onTerminal.push((key, error) => {
        metrics.terminalErrors.inc({ controller: name });
        log.error(
          { controller: name, key, err: error.message },
          "Reconcile failed terminally; not retrying until the object changes",
        );
      });
    }
    this.wire();
  }

  /** Fills the caches (readiness) without reconciling yet (standby replicas do this). */
  async sync(): Promise<void> {
    await this.cache.start();
  }

  get synced(): boolean {
    return this.cache.synced;
  }

  /** Starts reconciling (call once leader). */
  run(): void {
    if (this.started) return;
    this.started = true;
    this.restoreLedger();
    this.sandboxQueue.start((key) => this.timed("sandbox", () => this.sandboxes.reconcile(key)));
    this.workshopQueue.start((key) => this.timed("workshop", () => this.workshops.reconcile(key)));
    this.enqueueAll();
    this.timers.push(setInterval(() => this.enqueueAll(), this.options.resyncMs));
    this.timers.push(setInterval(() => this.updateGauges(), 5000));
    this.timers.push(setInterval(() => void this.probeIdle(), this.options.idleProbeMs));
    if (this.archiver && this.options.archive) {
      void this.sweepArchives();
      this.timers.push(setInterval(() => void this.sweepArchives(), this.options.archive.sweepMs));
    }
    for (const t of this.timers) t.unref();
  }

  /** Deletes archives past their workshop's retention (the caches are synced by now). */
  private async sweepArchives() {
    try {
      await this.archiver?.sweep();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "Archive retention sweep failed");
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([this.sandboxQueue.shutdown(), this.workshopQueue.shutdown()]);
    await this.cache.stop();
  }

  private wire() {
    const { cache } = this;
    cache.sandboxes.on((e) => {
      if (e.type === "delete") this.ledger.release(e.key);
      this.sandboxQueue.add(e.key);
      const s = e.object;
      this.workshopQueue.addAfter(
        `${s.metadata.namespace}/${s.spec?.workshop}`,
        WORKSHOP_COALESCE_MS,
      );
    });
    cache.workshops.on((e) => {
      this.workshopQueue.add(e.key);
      for (const key of cache.sandboxKeysOfWorkshop(e.key)) this.sandboxQueue.add(key);
    });
    cache.onSandboxChild = (key) => this.sandboxQueue.add(key);
  }

  private enqueueAll() {
    for (const key of this.cache.sandboxes.keys()) this.sandboxQueue.add(key);
    for (const key of this.cache.workshops.keys()) this.workshopQueue.add(key);
  }

  /** After a restart: sandboxes the cluster shows as admitted keep their slots. */
  private restoreLedger() {
    for (const [key, s] of this.cachedSandboxes()) {
      const workshopKey = `${s.metadata.namespace}/${s.spec.workshop}`;
      const reason = findCondition(s.status?.conditions, "Ready")?.reason;
      if (s.status?.phase === "Failed" && reason === "OverCapacity")
        this.ledger.restoreRejected(key);
      else if (s.status?.namespace) this.ledger.restore(workshopKey, key);
    }
  }

  private *cachedSandboxes() {
    for (const key of this.cache.sandboxes.keys()) {
      const s = this.cache.sandboxes.get(key);
      if (s) yield [key, s] as const;
    }
  }

  private async timed<T>(controller: string, fn: () => Promise<T>): Promise<T> {
    const end = this.metrics.reconcileDuration.startTimer({ controller });
    try {
      const result = await fn();
      end({ result: "success" });
      return result;
    } catch (error) {
      end({ result: "error" });
      throw error;
    } finally {
      this.metrics.queueDepth.set({ controller: "sandbox" }, this.sandboxQueue.length);
    }
  }

  private updateGauges() {
    const counts: Record<string, number> = Object.fromEntries(SANDBOX_PHASES.map((p) => [p, 0]));
    for (const [, s] of this.cachedSandboxes()) {
      const phase = s.metadata.deletionTimestamp ? "Expiring" : (s.status?.phase ?? "Pending");
      counts[phase] = (counts[phase] ?? 0) + 1;
    }
    this.metrics.setPhases(counts);
    this.metrics.queueDepth.set({ controller: "sandbox" }, this.sandboxQueue.length);
    this.metrics.queueDepth.set({ controller: "workshop" }, this.workshopQueue.length);
  }

  /** Asks notebooks of Ready, claimed sandboxes whose workshop has an idleTimeout. */
  private async probeIdle() {
    const due: [string, { name: string; namespace: string }][] = [];
    for (const [key, s] of this.cachedSandboxes()) {
      if (s.status?.phase !== "Ready" || !s.spec.owner || s.metadata.deletionTimestamp) continue;
      const entry = this.cache.workshops.get(`${s.metadata.namespace}/${s.spec.workshop}`);
      if (!entry?.ok || !entry.workshop.spec.idleTimeout) continue;
      due.push([key, { name: s.metadata.name, namespace: namespaceFor(s) }]);
    }
    for (let i = 0; i < due.length; i += 16) {
      await Promise.all(
        due.slice(i, i + 16).map(async ([key, target]) => {
          const at = await this.idle.lastActivity(target);
          if (at !== undefined && at !== this.activity.get(key)) {
            this.activity.set(key, at);
            this.sandboxQueue.add(key);
          }
        }),
      );
    }
  }
}
