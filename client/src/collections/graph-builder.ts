/**
 * Turns a Plan into tasks through a TaskSink (the client's submit in production, a
 * recorder in unit tests). Partitions are built on demand and memoised per node, so a node
 * used twice in one graph (`bag.product(bag)`) is submitted once, and `take()` builds only
 * the partitions it reads.
 */
import type { TaskFunction } from "./compose.js";
import { npartitionsOf, type Plan } from "./plan.js";

/** Where tasks go. `R` is a handle on a task's result (a Future in production). */
export interface TaskSink<R> {
  /** Submits fn(...args); handles (R) inside args, at any depth, are dependencies. */
  submit(fn: TaskFunction, args: readonly unknown[]): R;
  /** A task that just returns its argument: turns a literal partition into a handle. */
  identity(value: unknown): R;
}

/** A partition: a handle on a task's result, or a literal value still on the client. */
export type PartitionRef<R> = { readonly handle: R } | { readonly literal: unknown };

export class GraphBuilder<R> {
  readonly #sink: TaskSink<R>;
  readonly #memo = new Map<Plan, Map<number, PartitionRef<R>>>();
  readonly #splits = new Map<Plan, Map<string, R>>();

  constructor(sink: TaskSink<R>) {
    this.#sink = sink;
  }

  /** Partition `index` of `plan` (a literal stays on the client until a task needs it). */
  partition(plan: Plan, index: number): PartitionRef<R> {
    let byIndex = this.#memo.get(plan);
    if (!byIndex) {
      byIndex = new Map();
      this.#memo.set(plan, byIndex);
    }
    let ref = byIndex.get(index);
    if (!ref) {
      ref = this.#build(plan, index);
      byIndex.set(index, ref);
    }
    return ref;
  }

  /** Partition `index` as a handle (a literal is wrapped in an identity task). */
  handle(plan: Plan, index: number): R {
    const ref = this.partition(plan, index);
    if ("handle" in ref) return ref.handle;
    const handle = this.#sink.identity(ref.literal);
    this.#memo.get(plan)!.set(index, { handle });
    return handle;
  }

  /** Every partition of `plan`, in order. */
  all(plan: Plan): PartitionRef<R>[] {
    return Array.from({ length: npartitionsOf(plan) }, (_, i) => this.partition(plan, i));
  }

  #arg(plan: Plan, index: number): unknown {
    const ref = this.partition(plan, index);
    return "handle" in ref ? ref.handle : ref.literal;
  }

  #build(plan: Plan, index: number): PartitionRef<R> {
    switch (plan.kind) {
      case "literal":
        return { literal: plan.partitions[index] };
      case "futures":
        return { handle: plan.futures[index] as R };
      case "partitions":
        return {
          handle: this.#sink.submit(plan.fn, [this.#arg(plan.input, index), ...plan.args, index]),
        };
      case "product": {
        const right = npartitionsOf(plan.right);
        const i = Math.floor(index / right);
        const j = index % right;
        return {
          handle: this.#sink.submit(plan.fn, [this.#arg(plan.left, i), this.#arg(plan.right, j)]),
        };
      }
      case "shuffle": {
        const n = npartitionsOf(plan.input);
        const buckets: R[] = [];
        for (let i = 0; i < n; i++) buckets.push(this.#pick(plan, i, index));
        return { handle: this.#sink.submit(plan.merge, [buckets, ...plan.args]) };
      }
      case "tree-reduce":
        return { handle: this.#treeReduce(plan) };
    }
  }

  /** Bucket `bucket` of input partition `input` of a shuffle: one small task on its holder. */
  #pick(plan: Extract<Plan, { kind: "shuffle" }>, input: number, bucket: number): R {
    let picks = this.#splits.get(plan);
    if (!picks) {
      picks = new Map();
      this.#splits.set(plan, picks);
    }
    const id = `${input}/${bucket}`;
    let handle = picks.get(id);
    if (handle === undefined) {
      handle = this.#sink.submit(plan.pick, [this.handle(plan.input, input), bucket]);
      picks.set(id, handle);
    }
    return handle;
  }

  #treeReduce(plan: Extract<Plan, { kind: "tree-reduce" }>): R {
    let level: unknown[] = Array.from({ length: npartitionsOf(plan.input) }, (_, i) =>
      this.#arg(plan.input, i),
    );
    if (level.length === 0) return this.#sink.submit(plan.combine, [[], ...plan.args, true]);
    for (;;) {
      const final = level.length <= plan.fanIn;
      const next: R[] = [];
      for (let start = 0; start < level.length; start += plan.fanIn) {
        const group = level.slice(start, start + plan.fanIn);
        next.push(this.#sink.submit(plan.combine, [group, ...plan.args, final]));
      }
      if (final) return next[0]!;
      level = next;
    }
  }
}
