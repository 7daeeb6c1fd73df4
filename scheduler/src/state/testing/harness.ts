/**
 * Test harness for the state machine: feeds events, checks invariants after every one,
 * and collects the commands per recipient.
 */
import type {
  ClientToScheduler,
  RemoteErrorShape,
  SchedulerToClient,
  SchedulerToWorker,
  WorkerToScheduler,
} from "@launchbay/protocol";
import { assertInvariants } from "../invariants.js";
import { SchedulerState, type SchedulerStateOptions } from "../scheduler-state.js";
import type { Command, SchedulerEvent } from "../types.js";

export const FN = "src:0000000000000000000000000000000000000000000000000000000000000001";

export class Harness {
  readonly s: SchedulerState;
  now = 1000;
  /** Every command ever emitted, in order. */
  readonly log: Command[] = [];

  constructor(options: SchedulerStateOptions = {}) {
    this.s = new SchedulerState(options);
  }

  event(e: SchedulerEvent): Command[] {
    const out = this.s.handle(e);
    assertInvariants(this.s);
    this.log.push(...out);
    return out;
  }

  client(id = "c1"): this {
    this.event({ type: "client-joined", now: this.tick(), client: id });
    this.fromClient(id, { type: "define-function", id: FN, name: "inc", source: "(x) => x + 1" });
    return this;
  }

  worker(
    id: string,
    o: { nthreads?: number; resources?: Record<string, number>; name?: string } = {},
  ): Command[] {
    return this.event({
      type: "worker-joined",
      now: this.tick(),
      worker: id,
      name: o.name ?? id,
      address: `ws://${id}:1`,
      nthreads: o.nthreads ?? 1,
      memoryLimit: 1e9,
      resources: o.resources ?? {},
    });
  }

  fromClient(client: string, message: ClientToScheduler): Command[] {
    return this.event({ type: "from-client", now: this.tick(), client, message });
  }

  fromWorker(worker: string, message: WorkerToScheduler): Command[] {
    return this.event({ type: "from-worker", now: this.tick(), worker, message });
  }

  submit(
    key: string,
    deps: string[] = [],
    o: Partial<{
      priority: number;
      retries: number;
      workers: string[];
      resources: Record<string, number>;
      client: string;
      allowOtherWorkers: boolean;
    }> = {},
  ): Command[] {
    return this.fromClient(o.client ?? "c1", {
      type: "submit-task",
      key,
      fn: FN,
      args: new Uint8Array([1]),
      deps,
      priority: o.priority ?? 0,
      retries: o.retries ?? 0,
      allowOtherWorkers: o.allowOtherWorkers ?? false,
      ...(o.workers ? { workers: o.workers } : {}),
      ...(o.resources ? { resources: o.resources } : {}),
    });
  }

  finish(
    worker: string,
    key: string,
    o: { nbytes?: number; durationMs?: number; data?: Uint8Array } = {},
  ): Command[] {
    return this.fromWorker(worker, {
      type: "task-finished",
      key,
      nbytes: o.nbytes ?? 8,
      durationMs: o.durationMs ?? 1,
      ...(o.data ? { data: o.data } : {}),
    });
  }

  failTask(
    worker: string,
    key: string,
    error: RemoteErrorShape = { name: "Error", message: "boom", stack: "Error: boom\n  at f" },
  ) {
    return this.fromWorker(worker, { type: "task-failed", key, error, durationMs: 1 });
  }

  workerLeft(worker: string): Command[] {
    return this.event({ type: "worker-left", now: this.tick(), worker, reason: "test" });
  }

  state(key: string): string {
    return this.s.tasks.get(key)?.state ?? "forgotten";
  }

  /** Where a key is processing. */
  on(key: string): string | undefined {
    return this.s.tasks.get(key)?.processingOn;
  }

  tick(): number {
    return ++this.now;
  }
}

export function toWorker(commands: Command[], worker?: string): SchedulerToWorker[] {
  return commands.flatMap((c) =>
    c.type === "send-worker" && (worker === undefined || c.worker === worker) ? [c.message] : [],
  );
}

export function toClient(commands: Command[], client?: string): SchedulerToClient[] {
  return commands.flatMap((c) =>
    c.type === "send-client" && (client === undefined || c.client === client) ? [c.message] : [],
  );
}

export function computed(commands: Command[], worker?: string): string[] {
  return toWorker(commands, worker).flatMap((m) => (m.type === "compute-task" ? [m.key] : []));
}

export function freed(commands: Command[], worker?: string): string[] {
  return toWorker(commands, worker).flatMap((m) => (m.type === "free-keys" ? m.keys : []));
}

export function types(messages: { type: string }[]): string[] {
  return messages.map((m) => m.type);
}
