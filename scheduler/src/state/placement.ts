/**
 * Where a ready task runs, and how many tasks a worker may have in flight.
 *
 * A worker's in-flight limit is `nthreads × slotsPerThread(fn)`: functions measured to
 * be tiny get deep pipelines (enough queued work to cover ~TARGET_PIPELINE_MS per
 * thread), long ones 1-2 per thread so the rest stay in the scheduler's queue for
 * workers that free up or join later. Among workers with a free slot that satisfy the
 * task's restrictions, the one with the least (estimated queued work per thread +
 * transfer time of the dependency bytes it lacks at 1 GB/s) wins.
 */
import type { Task, WorkerRecord } from "./types.js";

export const TARGET_PIPELINE_MS = 5;
export const UNKNOWN_DURATION_MS = 1;
const MAX_SLOTS_PER_THREAD = 1000;
const BYTES_PER_MS = 1e6; // 1 GB/s
const LONG_TASK_MS = 100;
const EMA_WEIGHT = 0.2;

/** Running averages of task durations per function id. */
export class DurationEstimates {
  private averages = new Map<string, number>();

  observe(fn: string, durationMs: number): void {
    const previous = this.averages.get(fn);
    this.averages.set(
      fn,
      previous === undefined ? durationMs : previous + EMA_WEIGHT * (durationMs - previous),
    );
  }

  /** Expected milliseconds a task of `fn` takes. */
  expected(fn: string): number {
    return this.averages.get(fn) ?? UNKNOWN_DURATION_MS;
  }

  known(fn: string): boolean {
    return this.averages.has(fn);
  }

  /** The function was dropped (no task or client holds it). */
  forget(fn: string): void {
    this.averages.delete(fn);
  }

  /** How many tasks of `fn` each thread may have in flight. */
  slotsPerThread(fn: string): number {
    const average = this.averages.get(fn);
    if (average === undefined) return 2;
    if (average >= LONG_TASK_MS) return 1;
    return Math.min(
      MAX_SLOTS_PER_THREAD,
      1 + Math.ceil(TARGET_PIPELINE_MS / Math.max(average, 0.001)),
    );
  }
}

export function hasSlot(worker: WorkerRecord, fn: string, estimates: DurationEstimates): boolean {
  return worker.processing.size < worker.nthreads * estimates.slotsPerThread(fn);
}

/** True when the worker's free resources cover the task's request now. */
export function resourcesFree(
  worker: WorkerRecord,
  request: Record<string, number> | undefined,
): boolean {
  if (!request) return true;
  for (const name in request) {
    const need = request[name]!;
    if (need > (worker.resources[name] ?? 0) - (worker.resourcesUsed[name] ?? 0) + 1e-9)
      return false;
  }
  return true;
}

/** The first resource (with amounts) no worker in `workers` offers enough of, if any. */
export function unsatisfiableResource(
  workers: Iterable<WorkerRecord>,
  request: Record<string, number> | undefined,
): { name: string; need: number; most: number } | undefined {
  if (!request) return undefined;
  let missing: { name: string; need: number; most: number } | undefined;
  for (const name in request) {
    const need = request[name]!;
    let most = 0;
    let anyWorker = false;
    for (const w of workers) {
      anyWorker = true;
      most = Math.max(most, w.resources[name] ?? 0);
    }
    if (!anyWorker) return undefined;
    if (need > most + 1e-9) {
      missing = { name, need, most };
      break;
    }
  }
  return missing;
}

/** True when `worker` may ever run `task` (name restriction only; resources are checked separately). */
export function nameAllowed(worker: WorkerRecord, task: Task): boolean {
  const run = task.run;
  if (!run?.workers || run.allowOtherWorkers) return true;
  return run.workers.includes(worker.name);
}

/** The best worker with a free slot for `task`, or undefined if none can take it now. */
export function chooseWorker(
  task: Task,
  workers: Iterable<WorkerRecord>,
  estimates: DurationEstimates,
): WorkerRecord | undefined {
  const run = task.run!;
  let best: WorkerRecord | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const w of workers) {
    if (!hasSlot(w, run.fn, estimates)) continue;
    if (!nameAllowed(w, task)) continue;
    if (!resourcesFree(w, run.resources)) continue;
    let cost = w.occupancy / w.nthreads;
    if (task.deps.length > 0) {
      let missing = 0;
      for (const dep of task.deps) if (!dep.whoHas.has(w.id)) missing += dep.nbytes;
      cost += missing / BYTES_PER_MS;
    }
    if (run.workers && run.allowOtherWorkers && !run.workers.includes(w.name)) cost += 1e12;
    if (
      cost < bestCost ||
      (cost === bestCost && best && w.processing.size < best.processing.size)
    ) {
      best = w;
      bestCost = cost;
    }
  }
  return best;
}
