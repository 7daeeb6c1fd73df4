/**
 * The scheduler's task bookkeeping: tasks, workers, clients, counts, queues, and the
 * enter/leave steps the transition table (`transitions.ts`) calls for each move. Nothing
 * here reacts to events: `SchedulerState` (`scheduler-state.ts`) decides which moves an
 * event calls for; this class carries them out and collects the commands they emit.
 */
import type {
  RemoteErrorShape,
  SchedulerToClient,
  SchedulerToWorker,
  TaskFailureCode,
} from "@launchbay/protocol";
import { IllegalTransitionError } from "../errors.js";
import { CodeStore, DEFAULT_MAX_CODE_BYTES } from "./code-store.js";
import { DurationEstimates, unsatisfiableResource } from "./placement.js";
import { TaskQueue } from "./task-queue.js";
import { TransitionLog } from "./transition-log.js";
import {
  TRANSITIONS_BY_STATE,
  type TransitionDetail,
  type TransitionTarget,
} from "./transitions.js";
import type {
  ClientId,
  ClientRecord,
  Command,
  FinalState,
  StreamEntry,
  Task,
  TaskState,
  WorkerId,
  WorkerRecord,
} from "./types.js";

export interface SchedulerStateOptions {
  /** A task errs with `killed-worker` once more than this many workers died running it. */
  allowedFailures?: number;
  /** Finished tasks remembered for the dashboard's task stream. */
  streamLength?: number;
  /** Reported in `info-reply`. */
  schedulerId?: string;
  /** Budget for shipped functions and modules held at once (bytes). */
  maxCodeBytes?: number;
}

/** States in which a task counts as needing its dependencies. */
export const ACTIVE: Record<TaskState, boolean> = {
  released: false,
  waiting: true,
  queued: true,
  processing: true,
  memory: false,
  erred: false,
};

export class TaskBook implements TransitionTarget {
  readonly tasks = new Map<string, Task>();
  readonly workers = new Map<WorkerId, WorkerRecord>();
  readonly clients = new Map<ClientId, ClientRecord>();
  /** Shipped functions and modules, reference-counted by clients and tasks, within a budget. */
  readonly code: CodeStore;
  /** Ready tasks without restrictions, and those with worker or resource restrictions. */
  readonly queue = new TaskQueue();
  readonly restricted = new TaskQueue();
  readonly estimates = new DurationEstimates();
  readonly log = new TransitionLog();
  readonly counts: Record<TaskState, number> = {
    released: 0,
    waiting: 0,
    queued: 0,
    processing: 0,
    memory: 0,
    erred: 0,
  };
  readonly allowedFailures: number;
  completedTotal = 0;
  failedTotal = 0;
  erredTotal = 0;
  /** Recently finished tasks (a ring; see `taskStream()`). */
  private stream: StreamEntry[] = [];
  private streamNext = 0;
  private readonly streamLength: number;

  protected out: Command[] = [];
  protected toCheck: Task[] = [];
  protected frees = new Map<WorkerId, string[]>();
  protected needFill = false;
  protected now = 0;
  protected seq = 0;
  protected cause = "";
  protected erring: Task[] | undefined;
  protected readonly schedulerId: string;

  constructor(options: SchedulerStateOptions = {}) {
    this.allowedFailures = options.allowedFailures ?? 3;
    this.streamLength = options.streamLength ?? 1000;
    this.schedulerId = options.schedulerId ?? "";
    this.code = new CodeStore(options.maxCodeBytes ?? DEFAULT_MAX_CODE_BYTES);
  }

  // -------------------------------------------------------------------------------------
  // the transition machinery (called from the table in transitions.ts)

  transition(t: Task, to: TaskState | FinalState, detail: TransitionDetail = {}): void {
    const from = t.state;
    const handler = TRANSITIONS_BY_STATE[from]?.[to];
    if (!handler) throw new IllegalTransitionError(t.key, from, to, this.log.story(t.key));
    this.log.record(t.key, this.now, from, to, this.cause);
    handler(this, t, detail);
  }

  /** @internal */
  setState(t: Task, to: TaskState): void {
    const from = t.state;
    this.counts[from]--;
    this.counts[to]++;
    t.state = to;
    if (ACTIVE[from] !== ACTIVE[to]) {
      const delta = ACTIVE[to] ? 1 : -1;
      for (const d of t.deps) {
        d.activeDependents += delta;
        if (delta < 0) this.toCheck.push(d);
      }
    }
  }

  /** @internal */
  enterWaiting(t: Task): void {
    let missing = 0;
    for (const d of t.deps) if (d.state !== "memory") missing++;
    this.setState(t, "waiting");
    t.waitingCount = missing;
  }

  /** @internal */
  leaveWaiting(t: Task): void {
    t.waitingCount = 0;
  }

  /** @internal */
  enterQueued(t: Task): void {
    const run = t.run!;
    if (run.resources && this.workers.size > 0) {
      const missing = unsatisfiableResource(this.workers.values(), run.resources);
      if (missing) {
        this.log.record(t.key, this.now, t.state, "erred", "no worker can satisfy its resources");
        this.enterErred(
          t,
          runtimeError(
            "no-worker",
            "NoWorkerError",
            `task ${t.key} needs ${missing.need} ${missing.name} but no connected worker offers more than ${missing.most}: ` +
              `start a worker with --resources ${missing.name}=${missing.need}, or lower the task's resources`,
          ),
          t.key,
        );
        return;
      }
    }
    this.setState(t, "queued");
    if ((run.workers && !run.allowOtherWorkers) || run.resources) this.restricted.push(t);
    else this.queue.push(t);
    this.needFill = true;
  }

  /** @internal */
  leaveQueued(t: Task): void {
    this.queue.delete(t);
    this.restricted.delete(t);
  }

  /** @internal */
  enterProcessing(t: Task, w: WorkerRecord): void {
    const run = t.run!;
    this.setState(t, "processing");
    t.processingOn = w.id;
    w.processing.add(t);
    t.expectedMs = this.estimates.expected(run.fn);
    w.occupancy += t.expectedMs;
    if (run.resources) {
      for (const name in run.resources)
        w.resourcesUsed[name] = (w.resourcesUsed[name] ?? 0) + run.resources[name]!;
    }
    this.ensureFunction(w, run.fn);
    const deps = t.deps.map((d) => ({ key: d.key, nbytes: d.nbytes, who: this.addresses(d) }));
    const message: SchedulerToWorker = {
      type: "compute-task",
      key: t.key,
      fn: run.fn,
      args: run.args,
      deps,
      priority: t.priority,
    };
    if (run.resources) message.resources = run.resources;
    this.toWorker(w.id, message);
  }

  /** @internal Scattered data: processing until a worker confirms it stored it. */
  enterStoring(t: Task): void {
    if (t.run || !t.pendingStores)
      throw new IllegalTransitionError(t.key, t.state, "processing", this.log.story(t.key));
    this.setState(t, "processing");
  }

  /** @internal */
  leaveProcessing(t: Task, free: boolean): void {
    const w = t.processingOn === undefined ? undefined : this.workers.get(t.processingOn);
    if (t.processingOn !== undefined && free) this.queueFree(t.processingOn, t.key);
    if (w) {
      w.processing.delete(t);
      w.occupancy = w.processing.size === 0 ? 0 : Math.max(0, w.occupancy - t.expectedMs);
      const resources = t.run?.resources;
      if (resources)
        for (const name in resources)
          w.resourcesUsed[name] = (w.resourcesUsed[name] ?? 0) - resources[name]!;
      this.needFill = true;
    }
    t.processingOn = undefined;
    t.expectedMs = 0;
    if (free && t.pendingStores) this.dropPendingStores(t);
  }

  /** @internal */
  enterMemory(t: Task, w: WorkerRecord, nbytes: number, data: Uint8Array | undefined): void {
    this.setState(t, "memory");
    t.nbytes = nbytes;
    t.suspicious = 0;
    this.addReplica(t, w);
    for (const client of t.wantedBy) {
      this.toClient(
        client,
        data
          ? { type: "key-in-memory", key: t.key, nbytes, data }
          : { type: "key-in-memory", key: t.key, nbytes },
      );
    }
    for (const d of t.dependents) {
      if (d.state === "waiting" && --d.waitingCount === 0) this.transition(d, "queued");
    }
  }

  /** @internal Drops every copy of the result (telling the workers to free it). */
  leaveMemory(t: Task): void {
    for (const id of t.whoHas) {
      const w = this.workers.get(id);
      if (w) {
        w.has.delete(t);
        w.bytesHeld -= t.nbytes;
      }
      this.queueFree(id, t.key);
    }
    t.whoHas.clear();
    if (t.pendingStores) this.dropPendingStores(t);
  }

  /** @internal A result left memory: dependents that counted on it wait for it again. */
  dependencyLost(t: Task): void {
    for (const d of t.dependents) {
      if (d.state === "waiting") d.waitingCount++;
      else if (d.state === "queued") this.transition(d, "waiting");
    }
  }

  /**
   * @internal Errs the task; its waiting and queued dependents err too (transitively,
   * iteratively: each goes through the table with the same error, reason mentioned).
   */
  enterErred(t: Task, error: RemoteErrorShape, erredOn: string): void {
    this.setErred(t, error, erredOn);
    if (this.erring) {
      this.erring.push(t);
      return;
    }
    const erring = [t];
    this.erring = erring;
    try {
      while (erring.length > 0) {
        const x = erring.pop()!;
        for (const d of x.dependents) {
          if (d.state === "waiting" || d.state === "queued") {
            this.cause = `dependency ${x.key} erred`;
            this.transition(d, "erred", { error: derivedError(x), erredOn });
          }
        }
      }
    } finally {
      this.erring = undefined;
    }
  }

  protected setErred(t: Task, error: RemoteErrorShape, erredOn: string): void {
    this.setState(t, "erred");
    t.error = error;
    t.erredOn = erredOn;
    this.erredTotal++;
    for (const client of t.wantedBy)
      this.toClient(client, { type: "task-erred", key: t.key, error });
  }

  /** @internal */
  remove(t: Task): void {
    this.counts[t.state]--;
    const active = ACTIVE[t.state];
    for (const d of t.deps) {
      if (active) d.activeDependents--;
      d.dependents.delete(t);
      this.toCheck.push(d);
    }
    for (const client of t.wantedBy) this.clients.get(client)?.wants.delete(t);
    t.wantedBy.clear();
    this.tasks.delete(t.key);
    if (t.run) this.code.releaseForTask(t.run.fn);
  }

  protected addReplica(t: Task, w: WorkerRecord): void {
    if (t.whoHas.has(w.id)) return;
    t.whoHas.add(w.id);
    w.has.add(t);
    w.bytesHeld += t.nbytes;
  }

  protected removeReplica(t: Task, w: WorkerRecord): void {
    if (!t.whoHas.delete(w.id)) return;
    w.has.delete(t);
    w.bytesHeld -= t.nbytes;
  }

  protected dropPendingStores(t: Task): void {
    for (const id of t.pendingStores!) {
      this.workers.get(id)?.storing.delete(t);
      this.queueFree(id, t.key);
    }
    t.pendingStores = undefined;
  }

  protected ensureFunction(w: WorkerRecord, fn: string): void {
    if (w.functions.has(fn)) return;
    const def = this.code.functions.get(fn)!.def;
    if (def.module && !w.modules.has(def.module.hash)) {
      this.toWorker(w.id, this.code.modules.get(def.module.hash)!.module);
      w.modules.add(def.module.hash);
    }
    this.toWorker(w.id, def);
    w.functions.add(fn);
  }

  protected queueFree(worker: WorkerId, key: string): void {
    const keys = this.frees.get(worker);
    if (keys) keys.push(key);
    else this.frees.set(worker, [key]);
  }

  protected toClient(client: ClientId, message: SchedulerToClient): void {
    this.out.push({ type: "send-client", client, message });
  }

  protected toWorker(worker: WorkerId, message: SchedulerToWorker): void {
    this.out.push({ type: "send-worker", worker, message });
  }

  protected addresses(t: Task): string[] {
    const out: string[] = [];
    for (const id of t.whoHas) {
      const w = this.workers.get(id);
      if (w) out.push(w.address);
    }
    return out;
  }

  protected recordStream(
    t: Task,
    w: WorkerRecord,
    durationMs: number,
    outcome: StreamEntry["outcome"],
  ): void {
    const entry: StreamEntry = {
      key: t.key,
      name: this.code.functions.get(t.run!.fn)?.def.name ?? "task",
      worker: w.name,
      start: this.now - durationMs,
      end: this.now,
      outcome,
    };
    if (this.stream.length < this.streamLength) this.stream.push(entry);
    else this.stream[this.streamNext] = entry;
    this.streamNext = (this.streamNext + 1) % this.streamLength;
  }

  /** Finished tasks, oldest first. */
  taskStream(): StreamEntry[] {
    if (this.stream.length < this.streamLength) return this.stream.slice();
    return [...this.stream.slice(this.streamNext), ...this.stream.slice(0, this.streamNext)];
  }
}

export function runtimeError(
  code: TaskFailureCode,
  name: string,
  message: string,
): RemoteErrorShape {
  return { name, message, code };
}

export function derivedError(failed: Task): RemoteErrorShape {
  const error = failed.error!;
  const origin = failed.erredOn ?? failed.key;
  const prefix = `dependency ${origin} failed: `;
  return {
    ...error,
    message: error.message.startsWith("dependency ") ? error.message : prefix + error.message,
  };
}
