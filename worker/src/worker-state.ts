/**
 * All task and data bookkeeping of one worker, as a pure state machine: the scheduler
 * session, the peer fetcher and the thread pool turn what happens into `WorkerEvent`s,
 * call `handle()`, and carry out the `WorkerCommand`s it returns. No sockets, timers or
 * clocks in here.
 *
 * A task is `fetching` (some dependencies are not on this worker yet) or `executing`
 * (handed to the thread pool). Data is either a `result` (computed or scattered here:
 * held until the scheduler sends `free-keys`) or a `replica` (a dependency fetched from a
 * peer: held while a local task needs it).
 */
import type { RemoteErrorShape, WorkerToScheduler } from "@launchbay/protocol";
import { formatBytes } from "./byte-sizes.js";

export interface TaskAssignment {
  key: string;
  fn: string;
  args: Uint8Array;
  deps: { key: string; nbytes: number; who: string[] }[];
  priority: number;
}

export type WorkerEvent =
  | { type: "connected"; inlineLimit: number }
  | { type: "task-assigned"; task: TaskAssignment }
  | {
      type: "dependencies-fetched";
      address: string;
      items: { key: string; data: Uint8Array }[];
      missing: string[];
    }
  | { type: "task-finished"; key: string; data: Uint8Array; durationMs: number }
  | { type: "task-failed"; key: string; error: RemoteErrorShape; durationMs: number }
  | { type: "free-keys"; keys: string[] }
  | { type: "data-put"; items: { key: string; data: Uint8Array }[] }
  | { type: "scheduler-lost" };

export type WorkerCommand =
  | { type: "send"; message: WorkerToScheduler }
  /** Fetch `keys` from the peer at `address`; `nbytes` is their total size as the scheduler reported it. */
  | { type: "fetch"; address: string; keys: string[]; nbytes: number }
  | {
      type: "execute";
      key: string;
      fn: string;
      args: Uint8Array;
      deps: Map<string, Uint8Array>;
      /** Deps handed over for good (large fetched copies only this task needs): move, don't copy. */
      moved: string[];
    }
  | { type: "cancel"; key: string }
  | { type: "cancel-all" };

type TaskStatus = "new" | "fetching" | "executing";

interface Task {
  key: string;
  fn: string;
  args: Uint8Array;
  deps: string[];
  status: TaskStatus;
  /** Dependencies not on this worker yet. */
  waitingFor: Set<string>;
  story: string[];
}

interface Stored {
  data: Uint8Array;
  nbytes: number;
  kind: "result" | "replica";
}

interface Fetch {
  key: string;
  nbytes: number;
  /** Addresses not tried yet, in order. */
  candidates: string[];
  tried: string[];
  from: string;
  dependents: Set<string>;
}

/** Which status changes are legal; anything else is a bug and throws with the task's story. */
const TRANSITIONS = new Set(["new->fetching", "new->executing", "fetching->executing"]);
const STORY_LENGTH = 12;
/**
 * A fetched copy at least this large that only one local task needs is handed to that
 * task's thread without a copy; the worker stops holding (and counting) it then.
 */
export const HANDOFF_MIN_BYTES = 1024 * 1024;

export class WorkerStateError extends Error {
  override name = "WorkerStateError";
}

export interface WorkerStateOptions {
  /** Bytes of data this worker may hold. */
  memoryLimit: number;
  /** This worker's name, for error messages. */
  name: string;
}

export class WorkerState {
  private readonly tasks = new Map<string, Task>();
  private readonly data = new Map<string, Stored>();
  private readonly fetches = new Map<string, Fetch>();
  /** Local tasks (fetching or executing) that need each stored key. */
  private readonly pins = new Map<string, number>();
  private held = 0;
  private inlineLimit = 0;

  constructor(private readonly options: WorkerStateOptions) {}

  /** Bytes of data held (results and fetched dependencies). */
  get bytesHeld(): number {
    return this.held;
  }

  get taskCount(): number {
    return this.tasks.size;
  }

  /** Stored values for a peer's `get-data`. */
  getData(keys: readonly string[]): {
    items: { key: string; data: Uint8Array }[];
    missing: string[];
  } {
    const items: { key: string; data: Uint8Array }[] = [];
    const missing: string[] = [];
    for (const key of keys) {
      const stored = this.data.get(key);
      if (stored) items.push({ key, data: stored.data });
      else missing.push(key);
    }
    return { items, missing };
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  handle(event: WorkerEvent): WorkerCommand[] {
    switch (event.type) {
      case "connected":
        this.inlineLimit = event.inlineLimit;
        return [];
      case "task-assigned":
        return this.onTaskAssigned(event.task);
      case "dependencies-fetched":
        return this.onDependenciesFetched(event.address, event.items, event.missing);
      case "task-finished":
        return this.onTaskFinished(event.key, event.data, event.durationMs);
      case "task-failed":
        return this.onTaskFailed(event.key, event.error, event.durationMs);
      case "free-keys":
        return this.onFreeKeys(event.keys);
      case "data-put":
        return this.onDataPut(event.items);
      case "scheduler-lost":
        return this.onSchedulerLost();
    }
  }

  // -------------------------------------------------------------------------------------

  private onTaskAssigned(assignment: TaskAssignment): WorkerCommand[] {
    const { key } = assignment;
    if (this.tasks.has(key)) return []; // already fetching or running it
    const stored = this.data.get(key);
    if (stored?.kind === "result") {
      // Computed before (the scheduler lost track, or re-sent it): report it again.
      return [{ type: "send", message: this.finishedMessage(key, stored, 0) }];
    }
    const task: Task = {
      key,
      fn: assignment.fn,
      args: assignment.args,
      deps: [],
      status: "new",
      waitingFor: new Set(),
      story: [],
    };
    this.tasks.set(key, task);
    this.remember(task, "assigned");
    const commands: WorkerCommand[] = [];
    const missing: { dependency: string; from: string[] }[] = [];
    for (const dep of assignment.deps) {
      if (task.deps.includes(dep.key)) continue;
      task.deps.push(dep.key);
      this.pin(dep.key);
      if (this.data.has(dep.key)) continue;
      const inFlight = this.fetches.get(dep.key);
      if (inFlight) {
        inFlight.dependents.add(key);
        task.waitingFor.add(dep.key);
        continue;
      }
      const [first, ...rest] = dep.who;
      if (first === undefined) {
        missing.push({ dependency: dep.key, from: [] });
        continue;
      }
      this.fetches.set(dep.key, {
        key: dep.key,
        nbytes: dep.nbytes,
        candidates: rest,
        tried: [],
        from: first,
        dependents: new Set([key]),
      });
      task.waitingFor.add(dep.key);
      commands.push({ type: "fetch", address: first, keys: [dep.key], nbytes: dep.nbytes });
    }
    if (missing.length > 0) {
      this.dropTask(task);
      for (const m of missing) {
        commands.push({
          type: "send",
          message: { type: "missing-data", key, dependency: m.dependency, from: m.from },
        });
      }
      return commands;
    }
    if (task.waitingFor.size === 0) commands.push(this.execute(task));
    else this.transition(task, "fetching");
    return commands;
  }

  private onDependenciesFetched(
    address: string,
    items: { key: string; data: Uint8Array }[],
    missing: string[],
  ): WorkerCommand[] {
    const commands: WorkerCommand[] = [];
    for (const { key, data } of items) {
      const fetch = this.fetches.get(key);
      if (!fetch || fetch.from !== address) continue; // nobody waits for it any more
      if (!this.data.has(key)) {
        if (this.held + data.byteLength > this.options.memoryLimit) {
          this.fetches.delete(key);
          for (const dependent of fetch.dependents) {
            const task = this.tasks.get(dependent);
            if (!task) continue;
            const error = this.memoryError(
              `dependency ${key} of task ${dependent} is ${formatBytes(data.byteLength)}`,
            );
            this.dropTask(task);
            commands.push({
              type: "send",
              message: { type: "task-failed", key: dependent, error, durationMs: 0 },
            });
          }
          continue;
        }
        this.store(key, data, "replica");
      }
      this.satisfy(key, commands);
    }
    for (const key of missing) {
      const fetch = this.fetches.get(key);
      if (!fetch || fetch.from !== address) continue;
      fetch.tried.push(address);
      const next = fetch.candidates.shift();
      if (next !== undefined) {
        fetch.from = next;
        commands.push({ type: "fetch", address: next, keys: [key], nbytes: fetch.nbytes });
        continue;
      }
      this.fetches.delete(key);
      for (const dependent of fetch.dependents) {
        const task = this.tasks.get(dependent);
        if (!task) continue;
        this.remember(task, `missing ${key}`);
        this.dropTask(task);
        commands.push({
          type: "send",
          message: {
            type: "missing-data",
            key: dependent,
            dependency: key,
            from: [...fetch.tried],
          },
        });
      }
    }
    return commands;
  }

  private onTaskFinished(key: string, data: Uint8Array, durationMs: number): WorkerCommand[] {
    const task = this.tasks.get(key);
    if (task?.status !== "executing") return []; // freed while running
    this.dropTask(task);
    const existing = this.data.get(key);
    const nbytes = data.byteLength;
    const growth = nbytes - (existing?.nbytes ?? 0);
    if (this.held + growth > this.options.memoryLimit) {
      const error = this.memoryError(`result of ${key} is ${formatBytes(nbytes)}`);
      return [{ type: "send", message: { type: "task-failed", key, error, durationMs } }];
    }
    const stored = this.store(key, data, "result");
    const commands: WorkerCommand[] = [
      { type: "send", message: this.finishedMessage(key, stored, durationMs) },
    ];
    this.satisfy(key, commands);
    return commands;
  }

  private onTaskFailed(key: string, error: RemoteErrorShape, durationMs: number): WorkerCommand[] {
    const task = this.tasks.get(key);
    if (task?.status !== "executing") return [];
    this.dropTask(task);
    return [{ type: "send", message: { type: "task-failed", key, error, durationMs } }];
  }

  private onFreeKeys(keys: string[]): WorkerCommand[] {
    const commands: WorkerCommand[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task) {
        if (task.status === "executing") commands.push({ type: "cancel", key });
        this.dropTask(task);
      }
      const stored = this.data.get(key);
      if (stored) {
        // A local task may still read it: keep it as a replica until that task is done.
        if ((this.pins.get(key) ?? 0) > 0) stored.kind = "replica";
        else this.unstore(key);
      }
    }
    return commands;
  }

  private onDataPut(items: { key: string; data: Uint8Array }[]): WorkerCommand[] {
    const stored: { key: string; nbytes: number }[] = [];
    for (const { key, data } of items) {
      const s = this.store(key, data, "result");
      stored.push({ key, nbytes: s.nbytes });
    }
    const commands: WorkerCommand[] = [
      { type: "send", message: { type: "keys-stored", keys: stored } },
    ];
    for (const { key } of items) this.satisfy(key, commands);
    return commands;
  }

  private onSchedulerLost(): WorkerCommand[] {
    const anyExecuting = [...this.tasks.values()].some((t) => t.status === "executing");
    this.tasks.clear();
    this.data.clear();
    this.fetches.clear();
    this.pins.clear();
    this.held = 0;
    return anyExecuting ? [{ type: "cancel-all" }] : [];
  }

  // -------------------------------------------------------------------------------------

  /** `key` is stored now: tasks waiting for a fetch of it stop waiting (a reply in flight is ignored). */
  private satisfy(key: string, commands: WorkerCommand[]): void {
    const fetch = this.fetches.get(key);
    if (!fetch) return;
    this.fetches.delete(key);
    for (const dependent of fetch.dependents) {
      const task = this.tasks.get(dependent);
      if (!task) continue;
      task.waitingFor.delete(key);
      if (task.waitingFor.size === 0 && task.status === "fetching")
        commands.push(this.execute(task));
    }
  }

  private execute(task: Task): WorkerCommand {
    this.transition(task, "executing");
    const deps = new Map<string, Uint8Array>();
    const moved: string[] = [];
    for (const dep of task.deps) {
      const stored = this.data.get(dep);
      if (!stored) {
        throw new WorkerStateError(
          `task ${task.key} is ready but its dependency ${dep} is not stored; story: ${task.story.join(" → ")}`,
        );
      }
      deps.set(dep, stored.data);
      if (
        stored.kind === "replica" &&
        stored.nbytes >= HANDOFF_MIN_BYTES &&
        this.pins.get(dep) === 1
      ) {
        moved.push(dep);
        this.unstore(dep);
      }
    }
    return { type: "execute", key: task.key, fn: task.fn, args: task.args, deps, moved };
  }

  private transition(task: Task, to: TaskStatus): void {
    const from = task.status;
    if (!TRANSITIONS.has(`${from}->${to}`)) {
      throw new WorkerStateError(
        `task ${task.key}: illegal transition ${from}->${to}; story: ${task.story.join(" → ")}`,
      );
    }
    task.status = to;
    this.remember(task, to);
  }

  private remember(task: Task, what: string): void {
    task.story.push(what);
    if (task.story.length > STORY_LENGTH) task.story.shift();
  }

  /** Forgets a task and releases the dependencies it held. */
  private dropTask(task: Task): void {
    this.tasks.delete(task.key);
    for (const dep of task.deps) {
      const fetch = this.fetches.get(dep);
      if (fetch) {
        fetch.dependents.delete(task.key);
        if (fetch.dependents.size === 0) this.fetches.delete(dep);
      }
      this.unpin(dep);
    }
  }

  private pin(key: string): void {
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
  }

  private unpin(key: string): void {
    const n = (this.pins.get(key) ?? 0) - 1;
    if (n > 0) {
      this.pins.set(key, n);
      return;
    }
    this.pins.delete(key);
    if (this.data.get(key)?.kind === "replica") this.unstore(key);
  }

  private store(key: string, data: Uint8Array, kind: Stored["kind"]): Stored {
    const existing = this.data.get(key);
    if (existing) {
      this.held -= existing.nbytes;
      if (existing.kind === "result") kind = "result";
    }
    const stored: Stored = { data, nbytes: data.byteLength, kind };
    this.data.set(key, stored);
    this.held += stored.nbytes;
    return stored;
  }

  private unstore(key: string): void {
    const stored = this.data.get(key);
    if (!stored) return;
    this.data.delete(key);
    this.held -= stored.nbytes;
  }

  private finishedMessage(key: string, stored: Stored, durationMs: number): WorkerToScheduler {
    return stored.nbytes <= this.inlineLimit
      ? {
          type: "task-finished",
          key,
          nbytes: stored.nbytes,
          durationMs,
          data: stored.data as Uint8Array<ArrayBuffer>,
        }
      : { type: "task-finished", key, nbytes: stored.nbytes, durationMs };
  }

  private memoryError(what: string): RemoteErrorShape {
    const { name, memoryLimit } = this.options;
    return {
      name: "MemoryLimitError",
      code: "memory-limit",
      message:
        `${what} but worker ${name} holds ${formatBytes(this.held)} of its ${formatBytes(memoryLimit)} limit: ` +
        "release futures you no longer need, or start workers with a larger --memory-limit",
    };
  }

  // -------------------------------------------------------------------------------------

  /** Consistency checks for tests: throws if the bookkeeping disagrees with itself. */
  assertInvariants(): void {
    let sum = 0;
    for (const [key, stored] of this.data) {
      sum += stored.nbytes;
      if (stored.nbytes !== stored.data.byteLength)
        throw new WorkerStateError(`${key}: nbytes disagrees with data`);
      if (stored.kind === "replica" && !this.pins.has(key)) {
        throw new WorkerStateError(`replica ${key} is held although no local task needs it`);
      }
    }
    if (sum !== this.held)
      throw new WorkerStateError(`bytesHeld is ${this.held} but data adds up to ${sum}`);
    const expectedPins = new Map<string, number>();
    for (const task of this.tasks.values()) {
      for (const dep of task.deps) expectedPins.set(dep, (expectedPins.get(dep) ?? 0) + 1);
      for (const dep of task.waitingFor) {
        if (this.data.has(dep))
          throw new WorkerStateError(`${task.key} waits for ${dep}, which is stored`);
        if (!this.fetches.get(dep)?.dependents.has(task.key)) {
          throw new WorkerStateError(
            `${task.key} waits for ${dep}, but no fetch of it lists the task`,
          );
        }
      }
      if (task.status === "executing" && task.waitingFor.size > 0) {
        throw new WorkerStateError(`${task.key} is executing while waiting for dependencies`);
      }
      if (task.status === "fetching" && task.waitingFor.size === 0) {
        throw new WorkerStateError(`${task.key} is fetching nothing but not executing`);
      }
    }
    for (const [key, n] of this.pins) {
      if (expectedPins.get(key) !== n)
        throw new WorkerStateError(
          `${key} is pinned ${n} times, expected ${expectedPins.get(key) ?? 0}`,
        );
    }
    for (const [key, n] of expectedPins) {
      if (this.pins.get(key) !== n)
        throw new WorkerStateError(`${key} should be pinned ${n} times`);
    }
    for (const [key, fetch] of this.fetches) {
      if (fetch.dependents.size === 0)
        throw new WorkerStateError(`fetch of ${key} has no dependents`);
      for (const dependent of fetch.dependents) {
        if (!this.tasks.get(dependent)?.waitingFor.has(key)) {
          throw new WorkerStateError(
            `fetch of ${key} lists ${dependent}, which does not wait for it`,
          );
        }
      }
    }
  }
}
