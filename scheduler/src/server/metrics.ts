/**
 * Prometheus metrics, read from the state at scrape time (nothing on the hot path but
 * four integer increments per frame).
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { SchedulerState } from "../state/index.js";
import { TASK_STATES } from "../state/index.js";

export interface WireCounters {
  framesIn: number;
  messagesIn: number;
  framesOut: number;
  messagesOut: number;
}

export function createMetrics(
  state: SchedulerState,
  wire: WireCounters,
  clientCount: () => number,
): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "launchbay_scheduler_" });
  new Gauge({
    name: "launchbay_scheduler_tasks",
    help: "Tasks known to the scheduler, by state",
    labelNames: ["state"],
    registers: [register],
    collect() {
      for (const st of TASK_STATES) this.set({ state: st }, state.counts[st]);
    },
  });
  new Gauge({
    name: "launchbay_scheduler_workers",
    help: "Connected workers",
    registers: [register],
    collect() {
      this.set(state.workers.size);
    },
  });
  new Gauge({
    name: "launchbay_scheduler_threads",
    help: "Threads of all connected workers",
    registers: [register],
    collect() {
      let n = 0;
      for (const w of state.workers.values()) n += w.nthreads;
      this.set(n);
    },
  });
  new Gauge({
    name: "launchbay_scheduler_clients",
    help: "Connected clients",
    registers: [register],
    collect() {
      this.set(clientCount());
    },
  });
  new Gauge({
    name: "launchbay_scheduler_bytes_held",
    help: "Bytes of results held by workers, per worker",
    labelNames: ["worker"],
    registers: [register],
    collect() {
      this.reset();
      for (const w of state.workers.values()) this.set({ worker: w.name }, w.bytesHeld);
    },
  });
  new Gauge({
    name: "launchbay_scheduler_code_bytes",
    help: "Bytes of shipped functions and modules held (see --max-code-bytes)",
    registers: [register],
    collect() {
      this.set(state.code.bytes);
    },
  });
  new Gauge({
    name: "launchbay_scheduler_code_items",
    help: "Shipped functions and modules held, by kind",
    labelNames: ["kind"],
    registers: [register],
    collect() {
      this.set({ kind: "function" }, state.code.functions.size);
      this.set({ kind: "module" }, state.code.modules.size);
    },
  });
  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [register],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  total(
    "launchbay_scheduler_tasks_completed_total",
    "Tasks that finished successfully",
    () => state.completedTotal,
  );
  total(
    "launchbay_scheduler_task_failures_total",
    "Task attempts that threw (retried or not)",
    () => state.failedTotal,
  );
  total(
    "launchbay_scheduler_tasks_erred_total",
    "Tasks that ended erred (including dependents)",
    () => state.erredTotal,
  );
  total(
    "launchbay_scheduler_frames_received_total",
    "WebSocket frames received",
    () => wire.framesIn,
  );
  total(
    "launchbay_scheduler_messages_received_total",
    "Protocol messages received",
    () => wire.messagesIn,
  );
  total("launchbay_scheduler_frames_sent_total", "WebSocket frames sent", () => wire.framesOut);
  total(
    "launchbay_scheduler_messages_sent_total",
    "Protocol messages sent",
    () => wire.messagesOut,
  );
  return register;
}
