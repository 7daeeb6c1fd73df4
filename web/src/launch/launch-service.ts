import { EventEmitter } from "node:events";
import type { FastifyBaseLogger } from "fastify";
import type { Backend, SandboxEvent, SandboxState } from "../backend/backend.js";
import type { WorkshopSettings } from "../config.js";
import {
  describeQueued,
  describeSandbox,
  type DescribeContext,
  type SandboxView,
} from "../core/describe.js";
import { newSandboxId } from "../core/ids.js";
import { LaunchQueue, type QueueEntry } from "../core/launch-queue.js";
import { LaunchStats } from "../core/launch-stats.js";
import { LauncherError } from "../errors.js";
import type { LauncherMetrics } from "../http/metrics.js";

const MINUTE = 60_000;

export type LaunchOutcome = "existing" | "queued" | "claimed";

export interface LaunchResult {
  outcome: LaunchOutcome;
  view: SandboxView;
}

/** A launch the backend refused; kept so the progress view can show why and offer a retry. */
interface FailedLaunch {
  id: string;
  owner: string;
  requestedAt: number;
  message: string;
}

export interface LaunchServiceOptions {
  backend: Backend;
  settings: WorkshopSettings;
  maxConcurrentStarts: number;
  metrics: LauncherMetrics;
  log: FastifyBaseLogger;
  now?: () => number;
  /** What the slow-start notice assumes before any launch has finished. */
  defaultTypicalStartMs?: number;
}

/**
 * Everything between "an attendee pressed Launch" and the backend: one sandbox per
 * attendee, the capacity limit, the fair queue, warm-pool claims, extend/expire rules,
 * and launch-time statistics. HTTP-free; the routes call it.
 */
export class LaunchService {
  readonly backend: Backend;
  readonly settings: WorkshopSettings;
  readonly stats: LaunchStats;
  private readonly queue: LaunchQueue;
  private readonly metrics: LauncherMetrics;
  private readonly log: FastifyBaseLogger;
  private readonly now: () => number;
  /** Launch request time per sandbox id, until it is Ready (for launch-time statistics). */
  private readonly requestedAt = new Map<string, number>();
  private readonly failures = new Map<string, FailedLaunch>();
  /** Sandbox ids whose backend.create is in flight, by owner. */
  private readonly starting = new Map<string, QueueEntry>();
  private readonly events = new EventEmitter();
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(options: LaunchServiceOptions) {
    this.backend = options.backend;
    this.settings = options.settings;
    this.queue = new LaunchQueue(options.maxConcurrentStarts);
    this.metrics = options.metrics;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.stats = new LaunchStats(options.defaultTypicalStartMs ?? 30_000);
    this.events.setMaxListeners(0);
  }

  start(): void {
    this.unsubscribe = this.backend.subscribe((event) => this.onBackendEvent(event));
    this.metrics.onCollectSandboxes(() => this.phaseCounts());
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.events.removeAllListeners();
  }

  private context(): DescribeContext {
    return { now: this.now(), typicalStartMs: this.stats.typicalMs() };
  }

  /** Sandboxes (and queued launches) that count against `maxSandboxes`. */
  used(): number {
    let startingNotInStore = 0;
    for (const id of this.starting.keys()) if (!this.backend.get(id)) startingNotInStore += 1;
    return this.backend.capacity().owned + this.queue.length + startingNotInStore;
  }

  capacity(): {
    max: number;
    used: number;
    left: number;
    queued: number;
    warm: number;
    warmReady: number;
  } {
    const used = this.used();
    const backend = this.backend.capacity();
    return {
      max: this.settings.maxSandboxes,
      used,
      left: Math.max(0, this.settings.maxSandboxes - used),
      queued: this.queue.length,
      warm: backend.warm,
      warmReady: backend.warmReady,
    };
  }

  /** The attendee's current sandbox id (running, starting, queued or failed), if any. */
  findByOwner(owner: string): string | undefined {
    const queued = this.queue.byOwner(owner);
    if (queued) return queued.id;
    for (const entry of this.starting.values()) if (entry.owner === owner) return entry.id;
    const live = this.backend.list().find((s) => s.owner === owner && s.phase !== "Expiring");
    if (live) return live.id;
    for (const failure of this.failures.values()) if (failure.owner === owner) return failure.id;
    return undefined;
  }

  /** The owner of a sandbox id the launcher knows, or undefined. */
  ownerOf(id: string): string | undefined {
    return (
      this.backend.get(id)?.owner ??
      this.queue.get(id)?.owner ??
      this.starting.get(id)?.owner ??
      this.failures.get(id)?.owner
    );
  }

  view(id: string): SandboxView | undefined {
    const ctx = this.context();
    const queued = this.queue.get(id);
    if (queued) {
      return describeQueued(
        {
          id,
          owner: queued.owner,
          requestedAt: queued.requestedAt,
          position: this.queue.position(id)!,
          queueLength: this.queue.length,
        },
        this.settings.workers,
        ctx,
      );
    }
    const state = this.backend.get(id);
    if (state) return describeSandbox(state, ctx);
    const starting = this.starting.get(id);
    if (starting) {
      return describeSandbox(
        {
          id,
          owner: starting.owner,
          phase: "Pending",
          conditions: [],
          message: "Asking the cluster for your sandbox",
          createdAt: starting.requestedAt,
          expiresAt: starting.expiresAt,
          workers: { ready: 0, desired: this.settings.workers },
          warm: false,
        },
        ctx,
      );
    }
    const failure = this.failures.get(id);
    if (failure) {
      return {
        id,
        phase: "Failed",
        headline: "Your sandbox could not be started",
        message: failure.message,
        steps: [],
        ready: false,
        failed: true,
        slow: false,
        requestedAt: failure.requestedAt,
        typicalStartMs: ctx.typicalStartMs,
      };
    }
    return undefined;
  }

  /** Launches a sandbox for `owner`, or returns the one they already have. */
  async launch(owner: string): Promise<LaunchResult> {
    if (this.closed)
      throw new LauncherError(
        "shutting-down",
        "the launcher is shutting down; try again in a minute",
      );
    const existingId = this.findByOwner(owner);
    if (existingId) {
      const existing = this.view(existingId)!;
      if (!existing.failed) {
        this.metrics.launches.inc({ outcome: "existing" });
        return { outcome: "existing", view: existing };
      }
      await this.discardFailed(existingId);
    }
    if (this.used() >= this.settings.maxSandboxes) {
      this.metrics.launches.inc({ outcome: "full" });
      throw new LauncherError(
        "workshop-full",
        `the workshop is full (${this.settings.maxSandboxes} sandboxes in use); ask the organiser to free or add capacity`,
        { details: { max: this.settings.maxSandboxes } },
      );
    }
    const requestedAt = this.now();
    const expiresAt = requestedAt + this.settings.lifetimeMinutes * MINUTE;
    if (this.backend.capacity().warmReady > 0) {
      const claimed = await this.backend.claim({ owner, expiresAt });
      if (claimed) {
        this.stats.record(this.now() - requestedAt);
        this.metrics.launchSeconds.observe((this.now() - requestedAt) / 1000);
        this.metrics.launches.inc({ outcome: "claimed" });
        this.log.info({ sandbox: claimed.id }, "Claimed warm sandbox");
        return { outcome: "claimed", view: describeSandbox(claimed, this.context()) };
      }
    }
    const entry: QueueEntry = { id: newSandboxId(), owner, requestedAt, expiresAt };
    this.requestedAt.set(entry.id, requestedAt);
    const startNow = this.queue.enqueue(entry);
    this.metrics.launches.inc({ outcome: "queued" });
    const view = this.view(entry.id) ?? this.startingView(entry);
    for (const next of startNow) this.startLaunch(next);
    this.emitQueueChanged();
    return { outcome: "queued", view };
  }

  private startingView(entry: QueueEntry): SandboxView {
    this.starting.set(entry.id, entry);
    const view = this.view(entry.id)!;
    this.starting.delete(entry.id);
    return view;
  }

  private startLaunch(entry: QueueEntry): void {
    this.starting.set(entry.id, entry);
    this.emit(entry.id);
    this.backend
      .create({ id: entry.id, owner: entry.owner, expiresAt: entry.expiresAt })
      .then(
        () => {
          this.log.info({ sandbox: entry.id }, "Created sandbox");
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          this.log.error({ sandbox: entry.id, err }, "Creating sandbox failed");
          this.metrics.launches.inc({ outcome: "failed" });
          this.failures.set(entry.id, {
            id: entry.id,
            owner: entry.owner,
            requestedAt: entry.requestedAt,
            message: `The cluster refused the sandbox: ${message}`,
          });
          this.requestedAt.delete(entry.id);
        },
      )
      .finally(() => {
        this.starting.delete(entry.id);
        this.emit(entry.id);
        if (this.closed) return;
        for (const next of this.queue.finished(entry.id)) this.startLaunch(next);
        this.emitQueueChanged();
      });
  }

  private async discardFailed(id: string): Promise<void> {
    this.failures.delete(id);
    if (this.backend.get(id)) await this.backend.delete(id);
  }

  /** Extends a sandbox by `minutes` (default: the workshop lifetime), capped at the max lifetime. */
  async extend(id: string, minutes?: number): Promise<SandboxView> {
    const state = this.backend.get(id);
    if (!state) throw new LauncherError("not-found", `no sandbox ${id}`);
    if (state.phase === "Expiring" || state.phase === "Failed") {
      throw new LauncherError(
        "sandbox-not-ready",
        `sandbox ${id} is ${state.phase} and cannot be extended`,
      );
    }
    const limit = state.createdAt + this.settings.maxLifetimeMinutes * MINUTE;
    const by = (minutes ?? Math.min(30, this.settings.lifetimeMinutes)) * MINUTE;
    const target = Math.min(limit, Math.max(state.expiresAt, this.now()) + by);
    if (target <= state.expiresAt) {
      throw new LauncherError(
        "extend-limit",
        `this sandbox already runs until the workshop's maximum lifetime (${this.settings.maxLifetimeMinutes} minutes); download your work before it expires`,
        { details: { expiresAt: new Date(state.expiresAt).toISOString() } },
      );
    }
    const updated = await this.backend.extend(id, target);
    this.log.info({ sandbox: id, expiresAt: new Date(target).toISOString() }, "Extended sandbox");
    return describeSandbox(updated, this.context());
  }

  /** Expires a sandbox now (or drops a queued launch / a failure record). */
  async expire(id: string): Promise<void> {
    if (this.queue.cancel(id)) {
      this.requestedAt.delete(id);
      this.emit(id);
      this.emitQueueChanged();
      return;
    }
    if (this.failures.delete(id)) {
      if (this.backend.get(id)) await this.backend.delete(id);
      this.emit(id);
      return;
    }
    if (!this.backend.get(id)) {
      if (this.starting.has(id)) {
        throw new LauncherError(
          "sandbox-not-ready",
          `sandbox ${id} is being created; try again in a moment`,
        );
      }
      throw new LauncherError("not-found", `no sandbox ${id}`);
    }
    await this.backend.delete(id);
    this.requestedAt.delete(id);
    this.log.info({ sandbox: id }, "Expired sandbox");
  }

  /** Every sandbox and queued launch, for the admin page. */
  listAll(): Array<{ view: SandboxView; owner: string; warm: boolean; createdAt: number }> {
    const out: Array<{ view: SandboxView; owner: string; warm: boolean; createdAt: number }> = [];
    for (const entry of this.queue.list()) {
      out.push({
        view: this.view(entry.id)!,
        owner: entry.owner,
        warm: false,
        createdAt: entry.requestedAt,
      });
    }
    for (const entry of this.starting.values()) {
      if (!this.backend.get(entry.id)) {
        out.push({
          view: this.view(entry.id)!,
          owner: entry.owner,
          warm: false,
          createdAt: entry.requestedAt,
        });
      }
    }
    for (const state of this.backend.list()) {
      out.push({
        view: describeSandbox(state, this.context()),
        owner: state.owner,
        warm: state.warm,
        createdAt: state.createdAt,
      });
    }
    for (const failure of this.failures.values()) {
      if (!this.backend.get(failure.id)) {
        out.push({
          view: this.view(failure.id)!,
          owner: failure.owner,
          warm: false,
          createdAt: failure.requestedAt,
        });
      }
    }
    return out;
  }

  /** Calls `listener` with the sandbox's view whenever it changes; `undefined` once it is gone. */
  watch(id: string, listener: (view: SandboxView | undefined) => void): () => void {
    const onChange = () => listener(this.view(id));
    const onQueue = () => {
      if (this.queue.get(id)) onChange();
    };
    this.events.on(`sandbox:${id}`, onChange);
    this.events.on("queue", onQueue);
    return () => {
      this.events.off(`sandbox:${id}`, onChange);
      this.events.off("queue", onQueue);
    };
  }

  private emit(id: string): void {
    this.events.emit(`sandbox:${id}`);
  }

  private emitQueueChanged(): void {
    this.events.emit("queue");
  }

  private onBackendEvent(event: SandboxEvent): void {
    const { state } = event;
    if (event.type === "updated" && state.phase === "Ready") this.recordReady(state);
    if (event.type === "deleted") this.requestedAt.delete(state.id);
    this.emit(state.id);
  }

  private recordReady(state: SandboxState): void {
    const requested = this.requestedAt.get(state.id);
    if (requested === undefined) return;
    this.requestedAt.delete(state.id);
    const ms = (state.readyAt ?? this.now()) - requested;
    this.stats.record(ms);
    this.metrics.launchSeconds.observe(ms / 1000);
    this.log.info({ sandbox: state.id, launchMs: ms }, "Sandbox ready");
  }

  /** Sandboxes by phase, for the metrics gauge (computed when Prometheus scrapes). */
  phaseCounts(): Record<string, number> {
    const counts: Record<string, number> = {
      Queued: this.queue.length,
      Pending: 0,
      Provisioning: 0,
      Ready: 0,
      Expiring: 0,
      Failed: 0,
    };
    for (const s of this.backend.list()) counts[s.phase] = (counts[s.phase] ?? 0) + 1;
    return counts;
  }
}
