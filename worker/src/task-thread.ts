/**
 * The code that runs inside each task thread: evaluates shipped functions once (cached
 * by id), decodes arguments (dependencies replace future markers), runs tasks in order,
 * serialises each result with `serializeValue` and reports outcomes in small batches.
 * It writes the index of the task it is running into a shared slot so the main thread
 * can tell which task was to blame if the thread dies.
 */
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { decodeArgs, deserializeValue, serializeValue } from "@launchbay/protocol";
import { describeError } from "./remote-error.js";
import {
  IDLE,
  type MainToThread,
  type RunBatch,
  type TaskOutcome,
  type ThreadFunction,
  type ThreadReport,
} from "./thread-messages.js";

type TaskFunction = (...args: unknown[]) => unknown;

if (!parentPort) throw new Error("task-thread.js runs inside a worker thread only");
const port = parentPort;
const current = new Int32Array(workerData.current as SharedArrayBuffer);

/** Report outcomes at least this often while a batch runs (ms). */
const FLUSH_INTERVAL_MS = 2;

const definitions = new Map<string, ThreadFunction>();
const loaded = new Map<string, TaskFunction | Promise<TaskFunction>>();

class FunctionLoadError extends Error {
  override name = "FunctionLoadError";
}

function load(id: string): TaskFunction | Promise<TaskFunction> {
  const cached = loaded.get(id);
  if (cached) return cached;
  const def = definitions.get(id);
  if (!def) throw new FunctionLoadError(`function ${id} was never defined on this worker`);
  let fn: TaskFunction | Promise<TaskFunction>;
  if (def.source !== undefined) {
    let value: unknown;
    try {
      // Shipped functions travel as source (a JavaScript expression): evaluating it is the
      // design. An indirect eval runs it in the global scope, away from this module.
      // biome-ignore lint/security/noGlobalEval: see above
      // biome-ignore lint/complexity/noCommaOperator: (0, eval) is the indirect-eval idiom
      value = (0, eval)(`(${def.source}\n)`);
    } catch (error) {
      throw new FunctionLoadError(
        `function ${def.name} could not be evaluated: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    fn = asFunction(value, def);
  } else if (def.module) {
    const { path, export: name } = def.module;
    fn = import(pathToFileURL(path).href).then(
      (mod: Record<string, unknown>) => asFunction(mod[name], def),
      (error: Error) => {
        loaded.delete(id);
        throw new FunctionLoadError(
          `module for ${def.name} could not be imported: ${error.message}`,
          {
            cause: error,
          },
        );
      },
    );
    fn.then((f) => loaded.set(id, f)).catch(() => {});
  } else {
    throw new FunctionLoadError(`function ${def.name} has neither source nor module`);
  }
  loaded.set(id, fn);
  return fn;
}

function asFunction(value: unknown, def: ThreadFunction): TaskFunction {
  if (typeof value !== "function") {
    throw new FunctionLoadError(
      `${def.module ? `export "${def.module.export}"` : `source of ${def.name}`} is ${typeof value}, not a function`,
    );
  }
  return value as TaskFunction;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

async function runBatch(batch: RunBatch): Promise<void> {
  for (const def of batch.functions) definitions.set(def.id, def);
  let outcomes: TaskOutcome[] = [];
  let transfer: ArrayBuffer[] = [];
  let lastFlush = performance.now();
  const flush = (done: boolean) => {
    const report: ThreadReport = { type: "outcomes", outcomes, done };
    try {
      port.postMessage(report, transfer);
    } catch {
      port.postMessage(report); // some buffers cannot be transferred: copy them
    }
    outcomes = [];
    transfer = [];
    lastFlush = performance.now();
  };
  for (let i = 0; i < batch.tasks.length; i++) {
    const task = batch.tasks[i]!;
    Atomics.store(current, 0, i);
    const start = performance.now();
    try {
      let fn = load(task.fn);
      if (isThenable(fn)) fn = await fn;
      const deps = new Map(task.deps);
      const args = decodeArgs(task.args, (key) => {
        const bytes = deps.get(key);
        if (!bytes) throw new Error(`dependency ${key} of ${task.key} did not reach the thread`);
        return deserializeValue(bytes);
      });
      let value = fn(...args);
      if (isThenable(value)) value = await value;
      const data = serializeValue(value, `the result of ${task.key}`);
      outcomes.push({ key: task.key, ok: true, data, durationMs: performance.now() - start });
      if (transferable(data)) transfer.push(data.buffer as ArrayBuffer);
    } catch (error) {
      const shape = describeError(error);
      if (error instanceof FunctionLoadError) shape.code = "function-error";
      outcomes.push({
        key: task.key,
        ok: false,
        error: shape,
        durationMs: performance.now() - start,
      });
    }
    if (performance.now() - lastFlush >= FLUSH_INTERVAL_MS && i < batch.tasks.length - 1)
      flush(false);
  }
  Atomics.store(current, 0, IDLE);
  flush(true);
}

/** A buffer that owns its whole ArrayBuffer can move to the main thread without a copy. */
function transferable(data: Uint8Array): boolean {
  return (
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength &&
    data.byteLength >= 4096 &&
    !(data.buffer instanceof SharedArrayBuffer)
  );
}

/** Drops functions the scheduler freed. An imported module stays loaded: the pool replaces the thread to unload it. */
function forget(ids: readonly string[]): void {
  for (const id of ids) {
    definitions.delete(id);
    loaded.delete(id);
  }
}

let queue = Promise.resolve();
port.on("message", (message: MainToThread) => {
  queue = queue
    .then(() => (message.type === "forget" ? forget(message.functions) : runBatch(message)))
    .catch((error: unknown) => {
      // A bug outside any task: end the thread; the pool replaces it.
      setImmediate(() => {
        throw error;
      });
    });
});
port.postMessage({ type: "ready" } satisfies ThreadReport);
