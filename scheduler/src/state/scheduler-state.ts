/**
 * The scheduler's state machine: `handle(event)` dispatches each event to the moves it
 * calls for and returns the commands (messages to send). No sockets, timers or clocks:
 * time arrives on the event. Mutate only through `handle()`. The bookkeeping those moves
 * change lives in `TaskBook` (`task-book.ts`), the lineage walks in `lineage.ts`, the
 * read-only views in `views.ts`.
 *
 * Reference counting: a task is *needed* while a client wants it or a dependent in
 * waiting/queued/processing does (`activeDependents`); a computed result that is no
 * longer needed is freed on its workers and the task goes back to `released`, keeping
 * its spec as lineage while anything still refers to it. A task nothing refers to (no
 * wanting client, no known dependent) is forgotten.
 */
import type {
  ClientToScheduler,
  RemoteErrorShape,
  TaskFailureCode,
  WorkerInfo,
  WorkerToScheduler,
} from "@launchbay/protocol";
import type { Dropped } from "./code-store.js";
import { postOrder } from "./lineage.js";
import { chooseWorker } from "./placement.js";
import { ACTIVE, derivedError, runtimeError, TaskBook } from "./task-book.js";
import type {
  ClientId,
  ClientRecord,
  Command,
  FinalState,
  SchedulerEvent,
  StoryEntry,
  Task,
  TaskRun,
  TaskState,
  WorkerId,
  WorkerJoined,
  WorkerRecord,
} from "./types.js";
import { progressByName, workerInfo } from "./views.js";

export type { SchedulerStateOptions } from "./task-book.js";

type ClientMessage<T extends ClientToScheduler["type"]> = Extract<ClientToScheduler, { type: T }>;
type WorkerMessage<T extends WorkerToScheduler["type"]> = Extract<WorkerToScheduler, { type: T }>;

export class SchedulerState extends TaskBook {
  /** A restart in progress: who waits for it, and the names of workers not back yet. */
  private restarting: { waiters: [ClientId, number][]; names: Set<string> } | undefined;

  handle(event: SchedulerEvent): Command[] {
    this.now = event.now;
    this.out = [];
    this.cause = event.type;
    switch (event.type) {
      case "client-joined":
        this.clients.set(event.client, { id: event.client, name: event.name, wants: new Set() });
        break;
      case "client-left":
        this.onClientLeft(event.client);
        break;
      case "worker-joined":
        this.onWorkerJoined(event);
        break;
      case "worker-left":
        this.onWorkerLeft(event.worker, event.reason);
        break;
      case "from-client":
        this.onClientMessage(event.client, event.message);
        break;
      case "from-worker":
        this.onWorkerMessage(event.worker, event.message);
        break;
    }
    this.settle();
    return this.out;
  }

  // -------------------------------------------------------------------------------------
  // events

  private onClientMessage(client: ClientId, message: ClientToScheduler): void {
    this.cause = message.type;
    switch (message.type) {
      case "define-function":
        if (this.clients.has(client)) this.code.defineFunction(client, message);
        return;
      case "put-module":
        if (this.clients.has(client)) this.code.putModule(client, message);
        return;
      case "release-code":
        this.code.release(client, message.functions, message.modules);
        return;
      case "submit-task":
        this.onSubmit(client, message);
        return;
      case "want-keys":
        for (const key of message.keys) this.onWant(client, key);
        return;
      case "release-keys":
        for (const key of message.keys) this.onRelease(client, key);
        return;
      case "cancel-keys":
        for (const key of message.keys) this.onCancel(client, key);
        return;
      case "scatter":
        this.onScatter(client, message);
        return;
      case "who-has": {
        const who: Record<string, string[]> = {};
        for (const key of message.keys) {
          const t = this.tasks.get(key);
          who[key] = t && t.state === "memory" ? this.addresses(t) : [];
        }
        this.toClient(client, { type: "who-has-reply", requestId: message.requestId, who });
        return;
      }
      case "restart":
        this.onRestart(client, message.requestId);
        return;
      case "info":
        this.toClient(client, {
          type: "info-reply",
          requestId: message.requestId,
          schedulerId: this.schedulerId,
          workers: this.workerInfo(),
          tasks: this.taskCounts(),
        });
        return;
    }
  }

  private onWorkerMessage(worker: WorkerId, message: WorkerToScheduler): void {
    const w = this.workers.get(worker);
    if (!w) return;
    this.cause = message.type;
    switch (message.type) {
      case "task-finished":
        this.onTaskFinished(w, message);
        return;
      case "task-failed":
        this.onTaskFailed(w, message);
        return;
      case "keys-stored":
        this.onKeysStored(w, message);
        return;
      case "missing-data":
        this.onMissingData(w, message);
        return;
      case "heartbeat":
        // Liveness is the connection layer's business; nothing to book here.
        return;
    }
  }

  private onSubmit(client: ClientId, spec: ClientMessage<"submit-task">): void {
    const c = this.clients.get(client);
    if (!c) return;
    const existing = this.tasks.get(spec.key);
    if (existing) {
      this.onWant(client, spec.key);
      return;
    }
    const def = this.code.functions.get(spec.fn)?.def;
    if (!def) {
      const refused = this.code.refusal(client, spec.fn);
      this.toClient(client, {
        type: "task-erred",
        key: spec.key,
        error: refused
          ? runtimeError(
              "code-budget",
              "CodeBudgetError",
              `task ${spec.key} cannot run: ${refused}`,
            )
          : runtimeError(
              "function-error",
              "FunctionError",
              `task ${spec.key} refers to function ${spec.fn}, which was never defined (or was released): send define-function before submit-task`,
            ),
      });
      return;
    }
    if (def.module && !this.code.modules.has(def.module.hash)) {
      const refused = this.code.refusal(client, spec.fn, def.module.hash);
      this.toClient(client, {
        type: "task-erred",
        key: spec.key,
        error: refused
          ? runtimeError(
              "code-budget",
              "CodeBudgetError",
              `task ${spec.key} cannot run: ${refused}`,
            )
          : runtimeError(
              "function-error",
              "FunctionError",
              `function ${def.id} lives in module ${def.module.hash}, which was never sent (or was released): send put-module before submitting`,
            ),
      });
      return;
    }
    const deps: Task[] = [];
    for (const depKey of new Set(spec.deps)) {
      const dep = this.tasks.get(depKey);
      if (!dep || depKey === spec.key) {
        this.toClient(client, {
          type: "key-lost",
          key: spec.key,
          code: "lost-dependency",
          message:
            `task ${spec.key} depends on ${depKey}, which the scheduler does not know (released, lost or never submitted): ` +
            "keep a future for every dependency until its dependents are submitted",
        });
        return;
      }
      deps.push(dep);
    }
    const run: TaskRun = {
      fn: spec.fn,
      args: spec.args,
      workers: spec.workers,
      allowOtherWorkers: spec.allowOtherWorkers,
      resources: spec.resources,
    };
    const t = this.createTask(spec.key, run, deps, spec.priority, spec.retries);
    this.want(c, t);
    this.compute(t);
  }

  /** The client holds a future for `key` again. */
  private onWant(client: ClientId, key: string): void {
    const c = this.clients.get(client);
    if (!c) return;
    const t = this.tasks.get(key);
    if (!t) {
      this.toClient(client, {
        type: "key-lost",
        key,
        code: "lost-dependency",
        message: `the scheduler no longer knows ${key} (released or lost): submit it again`,
      });
      return;
    }
    this.want(c, t);
    if (t.state === "memory")
      this.toClient(client, { type: "key-in-memory", key, nbytes: t.nbytes });
    else if (t.state === "erred")
      this.toClient(client, { type: "task-erred", key, error: t.error! });
    else if (t.state === "released") this.compute(t);
  }

  private onRelease(client: ClientId, key: string): void {
    const c = this.clients.get(client);
    const t = this.tasks.get(key);
    if (!c || !t?.wantedBy.has(client)) return;
    t.wantedBy.delete(client);
    c.wants.delete(t);
    this.toCheck.push(t);
  }

  private onCancel(client: ClientId, key: string): void {
    const c = this.clients.get(client);
    if (!c) return;
    this.toClient(client, {
      type: "key-lost",
      key,
      code: "cancelled",
      message: `task ${key} was cancelled`,
    });
    const t = this.tasks.get(key);
    if (!t) return;
    t.wantedBy.delete(client);
    c.wants.delete(t);
    this.toCheck.push(t);
    if (t.wantedBy.size > 0 || !ACTIVE[t.state]) return;
    this.cause = `cancelled by ${client}`;
    this.abandon(t, "cancelled", (x) =>
      x === t
        ? `task ${key} was cancelled`
        : `task ${x.key} was cancelled because its dependency ${key} was`,
    );
  }

  private onScatter(client: ClientId, message: ClientMessage<"scatter">): void {
    const c = this.clients.get(client);
    if (!c) return;
    const eligible = [...this.workers.values()].filter(
      (w) => !message.workers || message.workers.includes(w.name),
    );
    const planned = new Map<WorkerRecord, { key: string; data: Uint8Array }[]>();
    const plannedBytes = new Map<WorkerRecord, number>();
    for (const item of message.items) {
      const existing = this.tasks.get(item.key);
      if (existing) {
        this.onWant(client, item.key);
        continue;
      }
      if (eligible.length === 0) {
        this.toClient(client, {
          type: "key-lost",
          key: item.key,
          code: "no-worker",
          message: message.workers
            ? `no connected worker is named ${message.workers.join(", ")} to store scattered data: start it, or drop the workers option`
            : "no worker is connected to store scattered data: start workers first",
        });
        continue;
      }
      let targets: WorkerRecord[];
      if (message.broadcast) targets = eligible;
      else {
        let best = eligible[0]!;
        let bestBytes = Number.POSITIVE_INFINITY;
        for (const w of eligible) {
          const bytes = w.bytesHeld + (plannedBytes.get(w) ?? 0);
          if (bytes < bestBytes) {
            best = w;
            bestBytes = bytes;
          }
        }
        targets = [best];
      }
      const t = this.createTask(item.key, undefined, [], 0, 0);
      t.nbytes = item.data.byteLength;
      t.pendingStores = new Set(targets.map((w) => w.id));
      for (const w of targets) {
        w.storing.add(t);
        plannedBytes.set(w, (plannedBytes.get(w) ?? 0) + t.nbytes);
        const items = planned.get(w);
        if (items) items.push(item);
        else planned.set(w, [item]);
      }
      this.want(c, t);
      this.transition(t, "processing");
    }
    for (const [w, items] of planned) this.toWorker(w.id, { type: "put-data", items });
  }

  private onTaskFinished(w: WorkerRecord, message: WorkerMessage<"task-finished">): void {
    const t = this.tasks.get(message.key);
    if (t?.state !== "processing" || t.processingOn !== w.id) {
      if (!t?.whoHas.has(w.id)) this.queueFree(w.id, message.key);
      return;
    }
    this.completedTotal++;
    this.estimates.observe(t.run!.fn, message.durationMs);
    this.recordStream(t, w, message.durationMs, "memory");
    this.transition(t, "memory", { worker: w, nbytes: message.nbytes, data: message.data });
  }

  private onTaskFailed(w: WorkerRecord, message: WorkerMessage<"task-failed">): void {
    const t = this.tasks.get(message.key);
    if (t?.state !== "processing" || t.processingOn !== w.id) return;
    this.failedTotal++;
    this.estimates.observe(t.run!.fn, message.durationMs);
    this.recordStream(t, w, message.durationMs, "failed");
    if (t.retriesLeft > 0) {
      t.retriesLeft--;
      this.cause = `task-failed, ${t.retriesLeft} retries left`;
      this.reschedule(t);
      return;
    }
    this.fail(t, message.error);
  }

  private onKeysStored(w: WorkerRecord, message: WorkerMessage<"keys-stored">): void {
    for (const { key, nbytes } of message.keys) {
      const t = this.tasks.get(key);
      if (!t?.pendingStores?.has(w.id)) {
        if (!t?.whoHas.has(w.id)) this.queueFree(w.id, key);
        continue;
      }
      t.pendingStores.delete(w.id);
      w.storing.delete(t);
      if (t.pendingStores.size === 0) t.pendingStores = undefined;
      if (t.state === "processing") this.transition(t, "memory", { worker: w, nbytes });
      else this.addReplica(t, w);
    }
  }

  private onMissingData(w: WorkerRecord, message: WorkerMessage<"missing-data">): void {
    const t = this.tasks.get(message.key);
    const dep = this.tasks.get(message.dependency);
    if (t?.state !== "processing" || t.processingOn !== w.id || !dep || !t.deps.includes(dep))
      return;
    this.cause = `missing-data ${dep.key} from ${message.from.join(", ")}`;
    for (const holder of this.workers.values()) {
      if (message.from.includes(holder.address) && dep.whoHas.has(holder.id))
        this.removeReplica(dep, holder);
    }
    if (dep.state === "memory" && dep.whoHas.size === 0) this.transition(dep, "released");
    this.reschedule(t);
  }

  /**
   * Runs a task that left `processing` (retry, unfetchable dependency) again: queued if
   * its dependencies are in memory, waiting if some are being (re)computed, erred if one
   * erred meanwhile.
   */
  private reschedule(t: Task): void {
    if (this.errIfDependencyErred(t)) return;
    this.transition(t, t.deps.every((d) => d.state === "memory") ? "queued" : "waiting");
    for (const d of t.deps) if (d.state === "released") this.recompute(d);
  }

  private onWorkerJoined(e: WorkerJoined): void {
    this.workers.set(e.worker, {
      id: e.worker,
      name: e.name,
      address: e.address,
      nthreads: e.nthreads,
      memoryLimit: e.memoryLimit,
      resources: { ...e.resources },
      resourcesUsed: {},
      processing: new Set(),
      occupancy: 0,
      has: new Set(),
      storing: new Set(),
      bytesHeld: 0,
      functions: new Set(),
      modules: new Set(),
      joinedAt: e.now,
    });
    this.needFill = true;
    if (this.restarting?.names.delete(e.name)) this.finishRestart();
  }

  /**
   * `client.restart()`: every client loses every key (`key-lost`, code `restarted`), so all
   * tasks are forgotten; every worker is told to drop everything and register again, and
   * leaves the books at once (nothing is placed on it meanwhile). The reply goes out when a
   * worker of each name registered again.
   */
  private onRestart(client: ClientId, requestId: number): void {
    if (!this.clients.has(client)) return;
    this.cause = `restart by ${client}`;
    for (const c of this.clients.values()) {
      for (const t of c.wants) {
        this.toClient(c.id, {
          type: "key-lost",
          key: t.key,
          code: "restarted",
          message:
            "the cluster was restarted (client.restart()): results from before are gone, submit again",
        });
        t.wantedBy.delete(c.id);
        this.toCheck.push(t);
      }
      c.wants.clear();
    }
    this.settle();
    this.restarting ??= { waiters: [], names: new Set() };
    const restarting = this.restarting;
    restarting.waiters.push([client, requestId]);
    for (const w of [...this.workers.values()]) {
      this.toWorker(w.id, { type: "restart" });
      restarting.names.add(w.name);
      this.onWorkerLeft(w.id, "restarting");
    }
    this.finishRestart();
  }

  private finishRestart(): void {
    if (!this.restarting || this.restarting.names.size > 0) return;
    for (const [client, requestId] of this.restarting.waiters)
      this.toClient(client, { type: "restart-reply", requestId, workers: this.workers.size });
    this.restarting = undefined;
  }

  private onWorkerLeft(worker: WorkerId, reason: string): void {
    const w = this.workers.get(worker);
    if (!w) return;
    this.workers.delete(worker);
    this.cause = `worker ${w.name} left: ${reason}`;
    const lost: Task[] = [];
    for (const t of w.has) {
      t.whoHas.delete(w.id);
      if (t.whoHas.size === 0) lost.push(t);
    }
    w.has.clear();
    w.bytesHeld = 0;
    const rerun: Task[] = [];
    for (const t of [...w.processing]) {
      t.suspicious++;
      if (t.suspicious > this.allowedFailures) {
        this.fail(
          t,
          runtimeError(
            "killed-worker",
            "KilledWorker",
            `task ${t.key} was running on ${t.suspicious} workers that died (last: ${w.name}); it probably crashes its ` +
              "worker, e.g. by running out of memory. Fix the task or raise --allowed-failures",
          ),
        );
      } else {
        this.transition(t, "released");
        rerun.push(t);
      }
    }
    const unstored: Task[] = [];
    for (const t of w.storing) {
      t.pendingStores?.delete(w.id);
      if (t.pendingStores?.size === 0) {
        t.pendingStores = undefined;
        if (t.state === "processing") unstored.push(t);
      }
    }
    w.storing.clear();
    for (const t of lost) if (t.state === "memory") this.transition(t, "released");
    for (const t of rerun) if (t.state === "released") this.recompute(t);
    for (const t of lost) {
      if (t.state === "released" && (t.wantedBy.size > 0 || t.activeDependents > 0))
        this.recompute(t);
    }
    for (const t of unstored) {
      this.transition(t, "released");
      this.abandonLost(t, t.key);
    }
    this.needFill = true;
  }

  private onClientLeft(client: ClientId): void {
    const c = this.clients.get(client);
    if (!c) return;
    this.clients.delete(client);
    for (const t of c.wants) {
      t.wantedBy.delete(client);
      this.toCheck.push(t);
    }
    this.code.clientLeft(client);
  }

  // -------------------------------------------------------------------------------------
  // lifecycle helpers

  private createTask(
    key: string,
    run: TaskRun | undefined,
    deps: Task[],
    priority: number,
    retries: number,
  ): Task {
    const t: Task = {
      key,
      state: "released",
      run,
      deps,
      dependents: new Set(),
      activeDependents: 0,
      waitingCount: 0,
      wantedBy: new Set(),
      whoHas: new Set(),
      processingOn: undefined,
      pendingStores: undefined,
      nbytes: 0,
      priority,
      seq: this.seq++,
      retriesLeft: retries,
      suspicious: 0,
      error: undefined,
      erredOn: undefined,
      expectedMs: 0,
    };
    for (const dep of deps) dep.dependents.add(t);
    if (run) this.code.retainForTask(run.fn);
    this.tasks.set(key, t);
    this.counts.released++;
    this.log.record(key, this.now, "new", "released", this.cause);
    return t;
  }

  private want(c: ClientRecord, t: Task): void {
    t.wantedBy.add(c.id);
    c.wants.add(t);
  }

  /** Errs `t` with its first erred dependency's error, if it has one; says whether it did. */
  private errIfDependencyErred(t: Task): boolean {
    const erredDep = t.deps.find((d) => d.state === "erred");
    if (!erredDep) return false;
    this.transition(t, "erred", {
      error: derivedError(erredDep),
      erredOn: erredDep.erredOn ?? erredDep.key,
    });
    return true;
  }

  /** Starts computing a released task that is needed (new, or needed again). */
  private compute(t: Task): void {
    if (this.errIfDependencyErred(t)) return;
    this.recompute(t);
  }

  /**
   * Brings a released task (and every released task in its lineage) back to waiting or
   * queued. A task whose lineage includes lost scattered data cannot come back: it and
   * its active dependents are abandoned with `lost-dependency`.
   */
  private recompute(root: Task): void {
    const order = postOrder(root, (t) => t.deps.filter((d) => d.state === "released"), true);
    const impossible = new Set<Task>();
    let lost: Task | undefined;
    for (const t of order) {
      if (!t.run || t.deps.some((d) => impossible.has(d))) {
        if (!t.run) lost ??= t;
        impossible.add(t);
        continue;
      }
      if (!this.errIfDependencyErred(t)) {
        this.transition(t, t.deps.every((d) => d.state === "memory") ? "queued" : "waiting");
      }
    }
    // Some of them may not be needed after all (their dependent erred or is impossible).
    for (const t of order) this.toCheck.push(t);
    if (impossible.has(root)) this.abandonLost(root, lost!.key);
  }

  /** `root` cannot be computed because the scattered data `lost` is gone. */
  private abandonLost(root: Task, lost: string): void {
    this.abandon(root, "lost-dependency", (x) =>
      x.key === lost
        ? `${lost} was lost with its worker and cannot be recomputed (scattered data has no lineage): scatter it again`
        : `task ${x.key} depends on ${lost}, which was lost with its worker and cannot be recomputed: scatter it again and resubmit`,
    );
  }

  /**
   * Drops `root` and, transitively, its dependents that still wait for it: wanting
   * clients get `key-lost` with `code`. Tasks something else still refers to go to
   * `released`; the rest are removed.
   */
  private abandon(root: Task, code: TaskFailureCode, message: (t: Task) => string): void {
    const order = postOrder(root, (t) => [...t.dependents].filter((d) => ACTIVE[d.state]), false);
    const final: FinalState = code === "cancelled" ? "cancelled" : "forgotten";
    for (const t of order) {
      for (const client of t.wantedBy) {
        this.toClient(client, { type: "key-lost", key: t.key, code, message: message(t) });
        this.clients.get(client)?.wants.delete(t);
      }
      t.wantedBy.clear();
      if (t.dependents.size === 0) this.transition(t, ACTIVE[t.state] ? final : "forgotten");
      else {
        if (ACTIVE[t.state]) this.transition(t, "released");
        this.toCheck.push(t);
      }
    }
  }

  /** Fails a task for good and errs its waiting dependents (transitively). */
  private fail(t: Task, error: RemoteErrorShape): void {
    this.transition(t, "erred", { error, erredOn: t.key });
  }

  /** Forgets unreferenced tasks and releases results nobody needs, until nothing changes. */
  private settle(): void {
    const toCheck = this.toCheck;
    while (toCheck.length > 0) {
      const t = toCheck.pop()!;
      if (this.tasks.get(t.key) !== t) continue;
      if (t.wantedBy.size === 0 && t.dependents.size === 0) {
        this.cause = "unreferenced";
        this.transition(t, "forgotten");
        continue;
      }
      if (t.wantedBy.size > 0 || t.activeDependents > 0) continue;
      this.cause = "no longer needed";
      if (ACTIVE[t.state] || (t.state === "memory" && t.run)) this.transition(t, "released");
    }
    if (this.needFill) this.fill();
    if (this.frees.size > 0) {
      for (const [worker, keys] of this.frees) {
        if (this.workers.has(worker))
          this.out.push({ type: "send-worker", worker, message: { type: "free-keys", keys } });
      }
      this.frees.clear();
    }
    const dropped = this.code.takeDropped();
    if (dropped.functions.length > 0 || dropped.modules.length > 0) this.freeCode(dropped);
  }

  /** Workers that were sent dropped functions or modules free them too. */
  private freeCode(dropped: Dropped): void {
    for (const fn of dropped.functions) this.estimates.forget(fn);
    const droppedModules = new Set(dropped.modules);
    for (const w of this.workers.values()) {
      const functions = dropped.functions.filter((id) => w.functions.delete(id));
      const modules = dropped.modules.filter((hash) => w.modules.delete(hash));
      if (modules.length > 0) {
        // Functions of a dropped module that are still held go to the worker again with it.
        for (const id of w.functions) {
          const hash = this.code.functions.get(id)?.def.module?.hash;
          if (hash !== undefined && droppedModules.has(hash)) {
            w.functions.delete(id);
            functions.push(id);
          }
        }
      }
      if (functions.length > 0 || modules.length > 0)
        this.toWorker(w.id, { type: "free-code", functions, modules });
    }
  }

  /** Assigns queued tasks to workers with free slots, highest priority first. */
  private fill(): void {
    this.needFill = false;
    if (this.workers.size === 0 || (this.queue.size === 0 && this.restricted.size === 0)) return;
    this.cause = "assigned";
    // An array iterates faster than the Map, and workers cannot join or leave in here.
    const workers = [...this.workers.values()];
    for (;;) {
      const t = this.queue.peek();
      if (!t) break;
      const w = chooseWorker(t, workers, this.estimates);
      if (!w) break;
      this.transition(t, "processing", { worker: w });
    }
    if (this.restricted.size === 0) return;
    for (const t of this.restricted.ordered()) {
      const w = chooseWorker(t, workers, this.estimates);
      if (w) this.transition(t, "processing", { worker: w });
    }
  }

  // -------------------------------------------------------------------------------------
  // read-only views (status, metrics, dashboard; see views.ts)

  taskCounts(): Record<TaskState, number> {
    return { ...this.counts };
  }

  workerInfo(): WorkerInfo[] {
    return workerInfo(this.workers.values());
  }

  /** Task counts by state for each function name (O(tasks): for dashboards, not hot paths). */
  progressByName(): Record<string, Record<TaskState, number>> {
    return progressByName(this.tasks.values(), this.code);
  }

  /** The task's recent transitions (for debugging and error reports). */
  story(key: string): StoryEntry[] {
    return this.log.story(key);
  }
}
