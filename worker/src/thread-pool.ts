/**
 * `--nthreads` task threads (`node:worker_threads`). Tasks queue on the main thread and go
 * to idle threads in batches (one message per batch, sized so the queue spreads over the
 * idle threads). Each thread is sent the function definitions it has not seen yet.
 * Cancelling a task that a thread is running terminates that thread and starts a fresh
 * one; the other unfinished tasks of its batch go back to the front of the queue.
 * Freed functions are dropped from every thread; an imported module cannot be unloaded
 * from a thread, so a thread that imported a freed module is replaced once it is idle.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  BLOB_THRESHOLD,
  type FunctionDefinition,
  type RemoteErrorShape,
} from "@launchbay/protocol";
import type { Logger } from "pino";
import { WorkerError } from "./errors.js";
import {
  type ForgetFunctions,
  IDLE,
  type RunBatch,
  type TaskOutcome,
  type ThreadFunction,
  type ThreadReport,
  type ThreadTask,
} from "./thread-messages.js";

/** Most tasks sent to a thread in one message. */
const MAX_BATCH = 256;
/** A replacement thread that dies this many times in a row before it is ready is fatal. */
const MAX_START_FAILURES = 3;

export interface ThreadPoolOptions {
  size: number;
  /** Where shipped modules are written (created if missing, removed on close). */
  moduleDir: string;
  onOutcome: (outcome: TaskOutcome) => void;
  /** Threads cannot be started any more: the worker should stop. */
  onFatal: (error: Error) => void;
  logger: Logger;
}

interface Slot {
  id: number;
  worker: Worker;
  current: Int32Array;
  ready: boolean;
  /** Terminated on purpose: its events are ignored. */
  retired: boolean;
  batch: ThreadTask[] | undefined;
  /** Keys of the batch the thread has not reported yet. */
  pending: Set<string>;
  /** Function ids this thread has been sent. */
  known: Set<string>;
  /** Hashes of the modules it may have imported (it was sent functions of them). */
  modules: Set<string>;
  /** It imported a module that was freed since: replace it once idle. */
  stale: boolean;
  lastError: Error | undefined;
}

/** The compiled thread script. Unit tests run the sources, so they use the built copy. */
export function threadScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const path = here.endsWith(".ts")
    ? fileURLToPath(new URL("../dist/task-thread.js", import.meta.url))
    : fileURLToPath(new URL("./task-thread.js", import.meta.url));
  if (!existsSync(path)) {
    throw new WorkerError(
      "thread-exited",
      `${path} is missing: build the worker first (npx tsc -b worker)`,
    );
  }
  return path;
}

/**
 * The parent's Node flags minus `--conditions`: the thread script is compiled JavaScript
 * and must resolve packages to their built code even when the parent runs from sources
 * (tests add `--conditions source`).
 */
function threadExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--conditions" || arg === "-C") i++;
    else if (!arg.startsWith("--conditions=")) out.push(arg);
  }
  return out;
}

export class ThreadPool {
  private readonly script = threadScriptPath();
  private readonly queue = new Map<string, ThreadTask>();
  private readonly functions = new Map<string, ThreadFunction>();
  private readonly running = new Map<string, Slot>();
  private slots: Slot[] = [];
  private nextId = 0;
  private dispatchScheduled = false;
  private startFailures = 0;
  private closed = false;

  private constructor(private readonly options: ThreadPoolOptions) {
    mkdirSync(options.moduleDir, { recursive: true });
  }

  /** Starts `size` threads and waits until each has loaded its code. */
  static async start(options: ThreadPoolOptions): Promise<ThreadPool> {
    const pool = new ThreadPool(options);
    const started = Array.from({ length: options.size }, () => pool.spawn());
    try {
      await Promise.all(started.map((s) => s.readyPromise));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Tasks handed to threads or queued for them. */
  get executing(): number {
    return this.running.size + this.queue.size;
  }

  get size(): number {
    return this.options.size;
  }

  define(def: FunctionDefinition): void {
    const fn: ThreadFunction = { id: def.id, name: def.name };
    if (def.source !== undefined) fn.source = def.source;
    else if (def.module) {
      const { hash, export: name } = def.module;
      fn.module = { hash, path: this.modulePath(hash), export: name };
    }
    this.functions.set(def.id, fn);
  }

  /** Writes a shipped module where threads import it from (content-addressed: once). */
  putModule(hash: string, code: string): void {
    const path = this.modulePath(hash);
    if (!existsSync(path)) writeFileSync(path, code);
  }

  /** Functions and modules the scheduler freed: no queued or running task uses them. */
  forget(functions: readonly string[], modules: readonly string[]): void {
    for (const id of functions) this.functions.delete(id);
    for (const slot of this.slots) {
      const ids = functions.filter((id) => slot.known.delete(id));
      if (ids.length > 0 && !slot.retired) {
        const message: ForgetFunctions = { type: "forget", functions: ids };
        slot.worker.postMessage(message);
      }
    }
    if (modules.length === 0) return;
    for (const hash of modules) rmSync(this.modulePath(hash), { force: true });
    for (const slot of [...this.slots]) {
      if (!modules.some((hash) => slot.modules.has(hash))) continue;
      slot.stale = true;
      if (!slot.batch) this.replace(slot, "it imported a module that was freed");
    }
  }

  /** Queues a task. `moved` deps are handed over: their buffers go to the thread without a copy. */
  run(
    key: string,
    fn: string,
    args: Uint8Array,
    deps: Map<string, Uint8Array>,
    moved: string[] = [],
  ): void {
    const task: ThreadTask = { key, fn, args, deps: [...deps] };
    if (moved.length > 0) task.moved = moved;
    this.queue.set(key, task);
    this.scheduleDispatch();
  }

  /** Forgets a task; if a thread is running it, replaces that thread. */
  cancel(key: string): void {
    if (this.queue.delete(key)) return;
    const slot = this.running.get(key);
    if (!slot) return;
    slot.pending.delete(key);
    this.running.delete(key);
    this.replace(slot, `task ${key} was cancelled while running`);
  }

  /** Forgets every task; threads that are running one are replaced. */
  cancelAll(): void {
    this.queue.clear();
    for (const slot of [...this.slots]) {
      if (slot.batch) {
        for (const key of slot.pending) this.running.delete(key);
        slot.pending.clear();
        this.replace(slot, "all tasks were cancelled");
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.clear();
    this.running.clear();
    const slots = this.slots;
    this.slots = [];
    await Promise.all(
      slots.map((slot) => {
        slot.retired = true;
        return slot.worker.terminate();
      }),
    );
    rmSync(this.options.moduleDir, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------

  private modulePath(hash: string): string {
    return join(this.options.moduleDir, `${hash}.mjs`);
  }

  private spawn(): { slot: Slot; readyPromise: Promise<void> } {
    const shared = new SharedArrayBuffer(4);
    const current = new Int32Array(shared);
    current[0] = IDLE;
    const id = this.nextId++;
    const worker = new Worker(this.script, {
      workerData: { current: shared },
      execArgv: threadExecArgv(),
      name: `launchbay-task-${id}`,
    });
    const slot: Slot = {
      id,
      worker,
      current,
      ready: false,
      retired: false,
      batch: undefined,
      pending: new Set(),
      known: new Set(),
      modules: new Set(),
      stale: false,
      lastError: undefined,
    };
    this.slots.push(slot);
    const readyPromise = new Promise<void>((resolve, reject) => {
      worker.on("message", (report: ThreadReport) => {
        if (slot.retired) return;
        if (report.type === "ready") {
          slot.ready = true;
          this.startFailures = 0;
          resolve();
          this.scheduleDispatch();
          return;
        }
        this.onOutcomes(slot, report.outcomes, report.done);
      });
      worker.on("error", (error) => {
        slot.lastError = error;
      });
      worker.on("exit", (code) => {
        if (!slot.ready) {
          reject(
            new WorkerError(
              "thread-exited",
              `a task thread exited (code ${code}) before it was ready${slot.lastError ? `: ${slot.lastError.message}` : ""}`,
              { cause: slot.lastError },
            ),
          );
        }
        if (!slot.retired) this.onUnexpectedExit(slot, code);
      });
    });
    readyPromise.catch(() => {}); // reported through onUnexpectedExit / start()
    return { slot, readyPromise };
  }

  private onOutcomes(slot: Slot, outcomes: TaskOutcome[], done: boolean): void {
    for (const outcome of outcomes) {
      if (!slot.pending.delete(outcome.key)) continue; // cancelled meanwhile
      this.running.delete(outcome.key);
      this.options.onOutcome(outcome);
    }
    if (done) {
      slot.batch = undefined;
      if (slot.stale) this.replace(slot, "it imported a module that was freed");
      this.scheduleDispatch();
    }
  }

  private onUnexpectedExit(slot: Slot, code: number): void {
    this.slots = this.slots.filter((s) => s !== slot);
    slot.retired = true;
    if (this.closed) return;
    const index = Atomics.load(slot.current, 0);
    const culprit = slot.batch && index >= 0 ? slot.batch[index] : undefined;
    const requeue: ThreadTask[] = [];
    for (const task of slot.batch ?? []) {
      if (!slot.pending.has(task.key)) continue;
      this.running.delete(task.key);
      if (task === culprit || task.moved) {
        const reason = slot.lastError ? `: ${slot.lastError.message}` : "";
        const error: RemoteErrorShape = {
          name: "ThreadExitedError",
          message:
            `task ${task.key} ended its worker thread (exit code ${code}${reason}). ` +
            "Tasks must not call process.exit(); an error thrown from a callback or running out of memory also ends the thread.",
        };
        if (slot.lastError?.stack) error.stack = slot.lastError.stack;
        this.options.onOutcome({ key: task.key, ok: false, error, durationMs: 0 });
      } else {
        requeue.push(task);
      }
    }
    this.requeueFront(requeue);
    if (!slot.ready) {
      this.startFailures++;
      if (this.startFailures >= MAX_START_FAILURES) {
        this.closed = true;
        this.options.onFatal(
          new WorkerError(
            "thread-exited",
            `task threads keep exiting before they are ready (exit code ${code}${slot.lastError ? `: ${slot.lastError.message}` : ""})`,
          ),
        );
        return;
      }
    }
    this.options.logger.warn(
      { thread: slot.id, code, task: culprit?.key },
      "Task thread exited; starting a new one",
    );
    this.spawn();
  }

  /** Terminates a thread on purpose and starts a fresh one in its place. */
  private replace(slot: Slot, why: string): void {
    slot.retired = true;
    this.slots = this.slots.filter((s) => s !== slot);
    const requeue = (slot.batch ?? []).filter((t) => slot.pending.has(t.key));
    for (const task of requeue) this.running.delete(task.key);
    this.requeueFront(requeue);
    void slot.worker.terminate();
    this.options.logger.debug({ thread: slot.id, why }, "Replacing task thread");
    if (!this.closed) this.spawn();
  }

  private requeueFront(tasks: ThreadTask[]): void {
    if (tasks.length === 0) return;
    const rest = [...this.queue.values()];
    this.queue.clear();
    for (const task of [...tasks, ...rest]) this.queue.set(task.key, task);
    this.scheduleDispatch();
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.queue.size === 0 || this.closed) return;
    const idle = this.slots.filter((s) => s.ready && !s.batch);
    for (let i = 0; i < idle.length && this.queue.size > 0; i++) {
      const slot = idle[i]!;
      const n = Math.min(MAX_BATCH, Math.ceil(this.queue.size / (idle.length - i)));
      const tasks: ThreadTask[] = [];
      const functions: ThreadFunction[] = [];
      const transfer: ArrayBuffer[] = [];
      for (const task of this.queue.values()) {
        if (tasks.length >= n) break;
        // A task with moved buffers travels alone: it is never requeued after its thread
        // is replaced for another task's sake, since its buffers are gone from here.
        if (task.moved && tasks.length > 0) break;
        this.queue.delete(task.key);
        tasks.push(task);
        slot.pending.add(task.key);
        this.running.set(task.key, slot);
        if (!slot.known.has(task.fn)) {
          const fn = this.functions.get(task.fn);
          if (fn) {
            functions.push(fn);
            slot.known.add(task.fn);
            if (fn.module) slot.modules.add(fn.module.hash);
          }
        }
        if (task.moved) break;
      }
      slot.batch = tasks;
      const message: RunBatch = {
        type: "run",
        functions,
        tasks: tasks.map((t) => forThread(t, transfer)),
      };
      slot.worker.postMessage(message, transfer);
    }
  }
}

/**
 * A copy of the task whose byte arrays cover their whole buffer: cloning a view of a big
 * buffer (a network frame) would copy all of it. Exact-size copies are transferred.
 */
function forThread(task: ThreadTask, transfer: ArrayBuffer[]): ThreadTask {
  return {
    key: task.key,
    fn: task.fn,
    args: exact(task.args, transfer),
    deps: task.deps.map(([k, v]) => [
      k,
      task.moved?.includes(k) ? move(v, transfer) : exact(v, transfer),
    ]),
  };
}

/**
 * Moves a buffer the main thread no longer needs. A network frame's buffer may hold other
 * lifted blobs (each at least BLOB_THRESHOLD bytes): move it only if no other blob fits.
 */
function move(bytes: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const buffer = bytes.buffer;
  if (
    buffer instanceof SharedArrayBuffer ||
    buffer.byteLength - bytes.byteLength >= BLOB_THRESHOLD
  ) {
    return exact(bytes, transfer);
  }
  if (!transfer.includes(buffer)) transfer.push(buffer);
  return bytes;
}

function exact(bytes: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes);
  transfer.push(copy.buffer);
  return copy;
}
