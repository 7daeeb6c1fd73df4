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
import {
  estimateWaitMs,
  memoryWaitingLineStore,
  WaitingLine,
  type WaitingEntry,
  type WaitingLineStore,
} from "../core/waiting-line.js";
import { LauncherError } from "../errors.js";
import type { LauncherMetrics } from "../http/metrics.js";
import type { SeatView, SharedLine, SharedSeats } from "./shared-seats.js";

const MINUTE = 60_000;

export type LaunchOutcome = "existing" | "queued" | "claimed" | "waiting";

/**
 * Shared waiting line: an attendee whose page no replica has seen for this long counts as
 * away (a replica with the page open says so every third of it).
 */
const LINE_PRESENT_MS = 30_000;

/** How many recent sandbox lifetimes the waiting-time estimate looks at. */
const RECENT_LIFETIMES = 20;

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
  /** The waiting line of a full workshop: how long an attendee away keeps their place, how long it may get, where it is kept. */
  waitingLine?: { graceMs: number; max: number; store?: WaitingLineStore };
  /**
   * Launch-time statistics from the sandboxes the backend lists (`SandboxState.launchMs`)
   * rather than from the launches this process saw, so every replica reports the same.
   */
  statsFromBackend?: boolean;
  /** How long a launch waits for an attendee's sandbox started by another replica to show up. */
  adoptTimeoutMs?: number;
  /**
   * Seats and waiting line shared by every launcher replica (Kubernetes). Each new
   * sandbox and each warm claim first takes a seat there, so concurrent launches on
   * different replicas give an attendee one sandbox and never exceed `maxSandboxes`; this
   * process mirrors the line, so positions are the same everywhere, and a freed seat goes
   * to the head of the line exactly once. Without it (one process), this process decides.
   */
  line?: SharedLine;
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
  private readonly waiting: WaitingLine;
  private readonly waitingStore: WaitingLineStore;
  private readonly waitingMax: number;
  private dropTimer: NodeJS.Timeout | undefined;
  /** How long recently ended sandboxes lived (ms), newest last. */
  private readonly lifetimes: number[] = [];
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private readonly adoptTimeoutMs: number;
  private readonly line: SharedLine | undefined;
  private lineAdmitting = false;
  private lineAdmitAgain = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(options: LaunchServiceOptions) {
    this.backend = options.backend;
    this.settings = options.settings;
    this.queue = new LaunchQueue(options.maxConcurrentStarts);
    this.metrics = options.metrics;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.stats = new LaunchStats(
      options.defaultTypicalStartMs ?? 30_000,
      undefined,
      options.statsFromBackend ? () => this.backendLaunchTimes() : undefined,
    );
    this.adoptTimeoutMs = options.adoptTimeoutMs ?? 15_000;
    this.line = options.line;
    this.events.setMaxListeners(0);
    this.waiting = new WaitingLine(options.waitingLine?.graceMs ?? 5 * MINUTE);
    this.waitingStore = options.waitingLine?.store ?? memoryWaitingLineStore;
    this.waitingMax = options.waitingLine?.max ?? 1000;
  }

  /** Call once the backend has started (it knows which seats are taken). */
  start(): void {
    this.unsubscribe = this.backend.subscribe((event) => this.onBackendEvent(event));
    this.metrics.onCollectSandboxes(() => this.phaseCounts());
    const line = this.line;
    if (line) {
      line.onChange(() => this.syncLine(line));
      this.syncLine(line);
      // Pages open here keep their places (other replicas only see the shared record).
      this.heartbeat = setInterval(() => {
        const ids = this.waiting
          .list()
          .filter((e) => this.waiting.isPresent(e.id))
          .map((e) => e.id);
        line
          .touch(ids, this.now())
          .catch((err: unknown) => this.log.warn({ err }, "Marking waiting pages seen failed"));
      }, LINE_PRESENT_MS / 3);
      this.heartbeat.unref();
      return;
    }
    this.waiting.restore(this.waitingStore.loadWaiting(), this.now());
    this.admitWaiting();
  }

  /** Mirrors the shared line here; tells the pages of those who left it. */
  private syncLine(line: SharedLine): void {
    if (this.closed) return;
    const before = new Set(this.waiting.list().map((e) => e.id));
    this.waiting.sync(
      line.line().map((p) => ({
        id: p.id,
        owner: p.owner,
        joinedAt: p.joinedAt,
        lastSeenAt: p.seenAt,
      })),
    );
    for (const id of before) if (!this.waiting.get(id)) this.emit(id);
    this.emitQueueChanged();
    this.admitWaiting();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.dropTimer);
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.events.removeAllListeners();
    this.line
      ?.close()
      .catch((err: unknown) => this.log.warn({ err }, "Stopping the shared seats failed"));
  }

  private context(): DescribeContext {
    return { now: this.now(), typicalStartMs: this.stats.typicalMs() };
  }

  /** Sandboxes (and queued launches) that count against `maxSandboxes`. */
  used(): number {
    let startingNotInStore = 0;
    for (const id of this.starting.keys()) if (!this.backend.get(id)) startingNotInStore += 1;
    const here = this.backend.capacity().owned + this.queue.length + startingNotInStore;
    return this.line ? Math.max(here, this.line.taken(this.seatView())) : here;
  }

  /** What this replica knows of the sandboxes, for the shared seats. */
  private seatView(): SeatView {
    return {
      now: this.now(),
      owned: this.backend
        .list()
        .filter((s) => s.owner)
        .map((s) => s.id),
      state: (id) => {
        const state = this.backend.get(id);
        if (state) return state.phase === "Expiring" ? "ending" : "live";
        return this.queue.get(id) || this.starting.has(id) ? "live" : "unknown";
      },
    };
  }

  /** Request → Ready of the attendees' sandboxes the backend lists (shared statistics). */
  private backendLaunchTimes(): number[] {
    const out: number[] = [];
    for (const s of this.backend.list())
      if (s.owner && s.launchMs !== undefined) out.push(s.launchMs);
    return out;
  }

  /** Frees a seat in the shared seats (a failure is logged: the seat goes stale and is dropped). */
  private releaseSeat(id: string): void {
    this.line
      ?.release(id)
      .catch((err: unknown) => this.log.warn({ sandbox: id, err }, "Freeing a shared seat failed"));
  }

  capacity(): {
    max: number;
    used: number;
    left: number;
    queued: number;
    waiting: number;
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
      waiting: this.waiting.length,
      warm: backend.warm,
      warmReady: backend.warmReady,
    };
  }

  /** The attendee's current sandbox id (running, starting, queued or failed), if any. */
  findByOwner(owner: string): string | undefined {
    const waiting = this.waiting.byOwner(owner);
    if (waiting) return waiting.id;
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
      this.waiting.get(id)?.owner ??
      this.queue.get(id)?.owner ??
      this.starting.get(id)?.owner ??
      this.failures.get(id)?.owner
    );
  }

  view(id: string): SandboxView | undefined {
    const ctx = this.context();
    const waiting = this.waiting.get(id);
    if (waiting) return this.waitingView(waiting, ctx);
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
    if (this.line) return this.launchLined(owner, this.line);
    // Full, or others already wait for a seat (one may be held for someone who stepped
    // away): join the back of the line.
    if (this.used() >= this.settings.maxSandboxes || this.waiting.length > 0) {
      return this.joinWaitingLine(owner);
    }
    const requestedAt = this.now();
    const expiresAt = requestedAt + this.settings.lifetimeMinutes * MINUTE;
    if (this.backend.capacity().warmReady > 0) {
      const claimed = await this.backend.claim({ owner, expiresAt, requestedAt });
      if (claimed) {
        this.stats.record(this.now() - requestedAt);
        this.metrics.launchSeconds.observe((this.now() - requestedAt) / 1000);
        this.metrics.launches.inc({ outcome: "claimed" });
        this.log.info({ sandbox: claimed.id }, "Claimed warm sandbox");
        return { outcome: "claimed", view: describeSandbox(claimed, this.context()) };
      }
    }
    return this.enqueueLaunch({ id: newSandboxId(), owner, requestedAt, expiresAt });
  }

  private enqueueLaunch(entry: QueueEntry): LaunchResult {
    this.requestedAt.set(entry.id, entry.requestedAt);
    const startNow = this.queue.enqueue(entry);
    this.metrics.launches.inc({ outcome: "queued" });
    const view = this.view(entry.id) ?? this.startingView(entry);
    for (const next of startNow) this.startLaunch(next);
    this.emitQueueChanged();
    return { outcome: "queued", view };
  }

  /**
   * A launch with the waiting line shared between replicas: the seat or the place in line
   * is taken in one atomic write.
   */
  private async launchLined(owner: string, line: SharedLine): Promise<LaunchResult> {
    const requestedAt = this.now();
    const expiresAt = requestedAt + this.settings.lifetimeMinutes * MINUTE;
    const id = newSandboxId();
    const answer = await line.reserveOrJoin({
      ...this.seatView(),
      owner,
      id,
      max: this.settings.maxSandboxes,
      maxWaiting: this.waitingMax,
    });
    if (answer.kind === "existing") return this.adopt(owner, answer.id);
    if (answer.kind === "reserved")
      return this.launchSeated(line, owner, id, requestedAt, expiresAt);
    if (answer.kind === "waiting") {
      if (!this.waiting.get(answer.id)) {
        // Not mirrored yet (the watch follows): place it at the back meanwhile.
        this.waiting.sync([
          ...this.waiting.list(),
          { id: answer.id, owner, joinedAt: requestedAt, lastSeenAt: requestedAt },
        ]);
      }
      this.metrics.launches.inc({ outcome: "waiting" });
      this.log.info(
        { sandbox: answer.id, position: this.waiting.position(answer.id) },
        "Attendee joined the waiting line",
      );
      this.emitQueueChanged();
      return { outcome: "waiting", view: this.view(answer.id)! };
    }
    this.metrics.launches.inc({ outcome: "full" });
    const waiting = answer.kind === "line-full" ? answer.waiting : this.waiting.length;
    throw new LauncherError(
      "workshop-full",
      `the workshop is full (${this.settings.maxSandboxes} sandboxes in use) and ${waiting} attendees are already waiting; ask the organiser to free or add capacity`,
      { details: { max: this.settings.maxSandboxes } },
    );
  }

  /** The attendee holds a shared seat under `id`: claims a warm sandbox or starts one. */
  private async launchSeated(
    seats: SharedSeats,
    owner: string,
    id: string,
    requestedAt: number,
    expiresAt: number,
  ): Promise<LaunchResult> {
    if (this.backend.capacity().warmReady > 0) {
      let claimed: SandboxState | undefined;
      try {
        claimed = await this.backend.claim({ owner, expiresAt, requestedAt });
      } catch (err) {
        this.releaseSeat(id);
        throw err;
      }
      if (claimed) {
        await seats
          .rename(owner, id, claimed.id)
          .catch((err: unknown) =>
            this.log.warn(
              { sandbox: claimed.id, err },
              "Recording the claimed sandbox's seat failed",
            ),
          );
        this.metrics.launchSeconds.observe((this.now() - requestedAt) / 1000);
        this.metrics.launches.inc({ outcome: "claimed" });
        this.log.info({ sandbox: claimed.id }, "Claimed warm sandbox");
        return { outcome: "claimed", view: describeSandbox(claimed, this.context()) };
      }
    }
    return this.enqueueLaunch({ id, owner, requestedAt, expiresAt });
  }

  /**
   * The attendee holds a seat taken by another replica (or a concurrent request here):
   * answers with that sandbox once this replica sees it (the creating replica writes it
   * right after the seat).
   */
  private async adopt(owner: string, id: string): Promise<LaunchResult> {
    const found = await this.untilOwnerKnown(owner);
    if (!found) {
      throw new LauncherError(
        "sandbox-not-ready",
        `your sandbox ${id} is being started by another launcher replica; try again in a moment`,
      );
    }
    this.metrics.launches.inc({ outcome: "existing" });
    return { outcome: "existing", view: this.view(found)! };
  }

  private untilOwnerKnown(owner: string): Promise<string | undefined> {
    const known = this.findByOwner(owner);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const done = (id: string | undefined) => {
        clearTimeout(timer);
        unsubscribe();
        this.events.off("queue", check);
        resolve(id);
      };
      const check = () => {
        const id = this.findByOwner(owner);
        if (id) done(id);
      };
      const unsubscribe = this.backend.subscribe(check);
      this.events.on("queue", check);
      const timer = setTimeout(() => done(undefined), this.adoptTimeoutMs);
    });
  }

  private joinWaitingLine(owner: string): LaunchResult {
    if (this.waiting.length >= this.waitingMax) {
      this.metrics.launches.inc({ outcome: "full" });
      throw new LauncherError(
        "workshop-full",
        `the workshop is full (${this.settings.maxSandboxes} sandboxes in use) and ${this.waiting.length} attendees are already waiting; ask the organiser to free or add capacity`,
        { details: { max: this.settings.maxSandboxes } },
      );
    }
    const entry = this.waiting.join(newSandboxId(), owner, this.now());
    this.waitingStore.saveWaiting(entry);
    this.metrics.launches.inc({ outcome: "waiting" });
    this.log.info(
      { sandbox: entry.id, position: this.waiting.position(entry.id) },
      "Attendee joined the waiting line",
    );
    this.emitQueueChanged();
    this.scheduleDrop();
    return { outcome: "waiting", view: this.view(entry.id)! };
  }

  /**
   * Gives free seats to the front of the waiting line (in order) and drops those away
   * past their grace. Called whenever a seat may have freed or the line changed.
   */
  private admitWaiting(): void {
    if (this.closed || this.waiting.length === 0) return;
    const now = this.now();
    if (this.line) {
      this.admitLined(this.line);
      return;
    }
    const seats = Math.max(0, this.settings.maxSandboxes - this.used());
    const { admitted, dropped } = this.waiting.admit(seats, now);
    for (const entry of dropped) {
      this.waitingStore.removeWaiting(entry.id);
      this.log.info({ sandbox: entry.id }, "Attendee lost their place in line (away too long)");
      this.emit(entry.id);
    }
    for (const entry of admitted) {
      this.waitingStore.removeWaiting(entry.id);
      this.launchFromLine(entry, now);
    }
    if (admitted.length > 0 || dropped.length > 0) this.emitQueueChanged();
    this.scheduleDrop();
  }

  /**
   * `admitWaiting` with the shared line: one guarded write drops those away too long and
   * seats the front of the line; only the replica whose write succeeded launches them.
   */
  private admitLined(line: SharedLine): void {
    if (this.lineAdmitting) {
      this.lineAdmitAgain = true;
      return;
    }
    this.lineAdmitting = true;
    line
      .admit({
        ...this.seatView(),
        max: this.settings.maxSandboxes,
        graceMs: this.waiting.graceMs,
        presentMs: LINE_PRESENT_MS,
      })
      .then(({ seated, dropped }) => {
        if (this.closed) return;
        for (const place of dropped) {
          this.waiting.remove(place.id);
          this.log.info({ sandbox: place.id }, "Attendee lost their place in line (away too long)");
          this.emit(place.id);
        }
        for (const place of seated) {
          this.waiting.remove(place.id);
          this.launchFromLine(place, this.now());
        }
        if (seated.length > 0 || dropped.length > 0) this.emitQueueChanged();
      })
      .catch((err: unknown) => this.log.warn({ err }, "Admitting from the waiting line failed"))
      .finally(() => {
        this.lineAdmitting = false;
        if (this.lineAdmitAgain && !this.closed) {
          this.lineAdmitAgain = false;
          this.admitLined(line);
        } else this.scheduleDrop();
      });
  }

  /** Starts the launch of an attendee who left the waiting line for a seat. */
  private launchFromLine(entry: { id: string; owner: string }, now: number): void {
    this.log.info({ sandbox: entry.id }, "Seat free: launching for the head of the line");
    const queued: QueueEntry = {
      id: entry.id,
      owner: entry.owner,
      requestedAt: now,
      expiresAt: now + this.settings.lifetimeMinutes * MINUTE,
    };
    this.requestedAt.set(entry.id, now);
    for (const next of this.queue.enqueue(queued)) this.startLaunch(next);
    // (Only now: in between, the launch is neither in line nor starting.)
    this.emit(entry.id);
  }

  /** Wakes up when the next attendee away loses their place. */
  private scheduleDrop(): void {
    clearTimeout(this.dropTimer);
    const at = this.waiting.nextDropAt();
    if (at === undefined || this.closed) return;
    this.dropTimer = setTimeout(() => this.admitWaiting(), Math.max(0, at - this.now()));
    this.dropTimer.unref();
  }

  /**
   * An attendee's page is watching `id` (its event socket is open): while it is, their
   * place in line is safe. Returns the call for when the page goes away.
   */
  attend(id: string): () => void {
    if (!this.waiting.get(id)) return () => {};
    this.waiting.arrived(id, this.now());
    const line = this.line;
    if (line) {
      this.touchShared(line, id);
      return () => {
        if (this.waiting.left(id, this.now())) this.touchShared(line, id);
      };
    }
    this.admitWaiting();
    return () => {
      const entry = this.waiting.left(id, this.now());
      if (entry) this.waitingStore.saveWaiting(entry);
      this.scheduleDrop();
    };
  }

  /** The attendee asked about `id` over HTTP: a waiting attendee counts as present now. */
  seen(id: string): void {
    if (this.line) {
      const entry = this.waiting.get(id);
      if (entry && this.now() - entry.lastSeenAt > LINE_PRESENT_MS / 3)
        this.touchShared(this.line, id);
      return;
    }
    const entry = this.waiting.seen(id, this.now());
    if (!entry) return;
    this.waitingStore.saveWaiting(entry);
    this.admitWaiting();
  }

  /** Records in the shared line that the attendee's page is here now, then admits. */
  private touchShared(line: SharedLine, id: string): void {
    line
      .touch([id], this.now())
      .then(() => this.admitWaiting())
      .catch((err: unknown) =>
        this.log.warn({ sandbox: id, err }, "Marking a waiting page seen failed"),
      );
  }

  private waitingView(entry: WaitingEntry, ctx: DescribeContext): SandboxView {
    const position = this.waiting.position(entry.id)!;
    const view = describeQueued(
      {
        id: entry.id,
        owner: entry.owner,
        requestedAt: entry.joinedAt,
        position,
        queueLength: this.waiting.length,
      },
      this.settings.workers,
      ctx,
    );
    const estimate = estimateWaitMs({
      position,
      now: ctx.now,
      seatEnds: this.seatEnds(ctx),
      lifetimeMs: this.expectedLifetimeMs(),
      typicalStartMs: ctx.typicalStartMs,
    });
    return {
      ...view,
      slow: false,
      waiting: true,
      headline:
        position === 1
          ? "The workshop is full: you are next in line for a seat"
          : `The workshop is full: you are number ${position} in line`,
      message:
        estimate === undefined
          ? "You will be launched automatically when a seat frees; keep this page open."
          : `Estimated wait: ${formatMinutes(estimate)}. You will be launched automatically; keep this page open (if you leave, your place is kept for ${formatMinutes(this.waiting.graceMs)}).`,
      estimatedWaitMs: estimate,
    };
  }

  /** When each of the workshop's seats is expected to free, for the estimate. */
  private seatEnds(ctx: DescribeContext): number[] {
    const lifetime = this.expectedLifetimeMs();
    const ends: number[] = [];
    for (const s of this.backend.list()) {
      if (!s.owner) continue;
      ends.push(Math.min(s.expiresAt, Math.max(s.readyAt ?? s.createdAt, s.createdAt) + lifetime));
    }
    const pending = this.queue.length + this.starting.size;
    for (let i = 0; i < pending; i += 1) ends.push(ctx.now + ctx.typicalStartMs + lifetime);
    while (ends.length < this.settings.maxSandboxes) ends.push(ctx.now);
    return ends.slice(0, Math.max(this.settings.maxSandboxes, 1));
  }

  /** The median lifetime of recently ended sandboxes, or the workshop's lifetime. */
  private expectedLifetimeMs(): number {
    const configured = this.settings.lifetimeMinutes * MINUTE;
    if (this.lifetimes.length === 0) return configured;
    const sorted = [...this.lifetimes].sort((a, b) => a - b);
    return Math.min(configured, sorted[Math.floor(sorted.length / 2)]!);
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
      .create({
        id: entry.id,
        owner: entry.owner,
        expiresAt: entry.expiresAt,
        requestedAt: entry.requestedAt,
      })
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
          this.releaseSeat(entry.id);
        },
      )
      .finally(() => {
        this.starting.delete(entry.id);
        this.emit(entry.id);
        if (this.closed) return;
        for (const next of this.queue.finished(entry.id)) this.startLaunch(next);
        this.emitQueueChanged();
        this.admitWaiting();
      });
  }

  private async discardFailed(id: string): Promise<void> {
    this.failures.delete(id);
    if (this.backend.get(id)) await this.backend.delete(id);
    if (this.line) await this.line.release(id);
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
    if (this.waiting.get(id)) {
      // The shared line first: a failed write leaves the attendee in line, as seen.
      if (this.line) await this.line.leave(id);
      else this.waitingStore.removeWaiting(id);
      this.waiting.remove(id);
      this.log.info({ sandbox: id }, "Attendee left the waiting line");
      this.emit(id);
      this.emitQueueChanged();
      this.admitWaiting();
      return;
    }
    if (this.queue.cancel(id)) {
      this.requestedAt.delete(id);
      this.releaseSeat(id);
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
    this.releaseSeat(id);
    this.log.info({ sandbox: id }, "Expired sandbox");
  }

  /** Every sandbox and queued launch, for the admin page. */
  listAll(): Array<{ view: SandboxView; owner: string; warm: boolean; createdAt: number }> {
    const out: Array<{ view: SandboxView; owner: string; warm: boolean; createdAt: number }> = [];
    for (const entry of this.waiting.list()) {
      out.push({
        view: this.view(entry.id)!,
        owner: entry.owner,
        warm: false,
        createdAt: entry.joinedAt,
      });
    }
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
      if (this.queue.get(id) || this.waiting.get(id)) onChange();
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
    if (event.type === "deleted") {
      this.requestedAt.delete(state.id);
      if (state.owner) this.recordLifetime(this.now() - state.createdAt);
    }
    // Whichever replica sees a sandbox end frees its shared seat (the others find it free).
    if (this.line && state.owner && (event.type === "deleted" || state.phase === "Expiring"))
      this.releaseSeat(state.id);
    this.emit(state.id);
    // A seat may have freed (deleted, or a start that failed and was discarded).
    this.admitWaiting();
  }

  private recordLifetime(ms: number): void {
    this.lifetimes.push(ms);
    if (this.lifetimes.length > RECENT_LIFETIMES) this.lifetimes.shift();
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
      Queued: this.queue.length + this.waiting.length,
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

/** "about 3 minutes", "under a minute", "2 hours 5 minutes". */
export function formatMinutes(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h} hour${h === 1 ? "" : "s"}${m ? ` ${m} minute${m === 1 ? "" : "s"}` : ""}`;
}
