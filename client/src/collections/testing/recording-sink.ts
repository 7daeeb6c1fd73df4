/**
 * A TaskSink for tests of graph construction: records every task (function, arguments,
 * dependencies) instead of submitting it, and can run the recorded graph in this process
 * the way workers would: each function evaluated from its source (with dynamic import, as
 * on workers), arguments and results through the structured serialiser, dependencies
 * replaced by their values.
 */
import { deserialize, serialize } from "node:v8";
import { constants, runInThisContext } from "node:vm";
import type { TaskFunction } from "../compose.js";
import { GraphBuilder, type PartitionRef, type TaskSink } from "../graph-builder.js";
import type { Plan } from "../plan.js";

export class TaskRef {
  constructor(readonly id: number) {}
}

export interface RecordedTask {
  id: number;
  name: string;
  source: string;
  args: readonly unknown[];
  deps: number[];
}

function identityPartition(partition: unknown): unknown {
  return partition;
}

export class RecordingSink implements TaskSink<TaskRef> {
  readonly tasks: RecordedTask[] = [];

  submit(fn: TaskFunction, args: readonly unknown[]): TaskRef {
    const ref = new TaskRef(this.tasks.length);
    this.tasks.push({ id: ref.id, name: fn.name, source: fn.source, args, deps: refsIn(args) });
    return ref;
  }

  identity(value: unknown): TaskRef {
    return this.submit(
      { name: "identityPartition", source: identityPartition.toString(), fn: identityPartition },
      [value],
    );
  }

  /** Runs every recorded task in order (the order is topological) and returns their values. */
  async run(): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const task of this.tasks) {
      // Task functions may `await import("node:v8")`, as they do on workers.
      const fn = runInThisContext(`(${task.source}\n)`, {
        importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      }) as (...args: unknown[]) => unknown;
      const args = deserialize(serialize(replaceRefs(task.args, values))) as unknown[];
      const result = await fn(...args);
      values.push(deserialize(serialize(result)));
    }
    return values;
  }

  /** Builds the given partitions of `plan`, runs the graph and returns their values. */
  static async evaluate(
    plan: Plan,
    indices?: number[],
  ): Promise<{ values: unknown[]; sink: RecordingSink }> {
    const sink = new RecordingSink();
    const builder = new GraphBuilder(sink);
    const refs: PartitionRef<TaskRef>[] = indices
      ? indices.map((i) => builder.partition(plan, i))
      : builder.all(plan);
    const results = await sink.run();
    const values = refs.map((r) => ("handle" in r ? results[r.handle.id] : r.literal));
    return { values, sink };
  }
}

function refsIn(value: unknown, found: number[] = []): number[] {
  if (value instanceof TaskRef) found.push(value.id);
  else if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (
    value !== null &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  )
    for (const v of Object.values(value)) refsIn(v, found);
  return found;
}

function replaceRefs(value: unknown, values: readonly unknown[]): unknown {
  if (value instanceof TaskRef) return values[value.id];
  if (Array.isArray(value)) return value.map((v) => replaceRefs(v, values));
  if (
    value !== null &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceRefs(v, values)]));
  }
  return value;
}
