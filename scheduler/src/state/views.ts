/**
 * Read-only views of the scheduler's state for status, metrics and the dashboard. They
 * copy what they report and change nothing.
 */
import type { WorkerInfo } from "@launchbay/protocol";
import type { CodeStore } from "./code-store.js";
import { TASK_STATES, type Task, type TaskState, type WorkerRecord } from "./types.js";

export function workerInfo(workers: Iterable<WorkerRecord>): WorkerInfo[] {
  return [...workers].map((w) => ({
    id: w.id,
    name: w.name,
    address: w.address,
    nthreads: w.nthreads,
    memoryLimit: w.memoryLimit,
    resources: w.resources,
    bytesHeld: w.bytesHeld,
    processing: w.processing.size,
  }));
}

/** Task counts by state for each function name (O(tasks): for dashboards, not hot paths). */
export function progressByName(
  tasks: Iterable<Task>,
  code: CodeStore,
): Record<string, Record<TaskState, number>> {
  const out: Record<string, Record<TaskState, number>> = {};
  for (const t of tasks) {
    const name = t.run ? (code.functions.get(t.run.fn)?.def.name ?? "task") : "scatter";
    let row = out[name];
    if (!row) {
      row = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
      out[name] = row;
    }
    row[t.state]++;
  }
  return out;
}
