/**
 * The lazy task graph behind a collection, as plain data: each node says how to produce
 * each of its partitions. Nothing runs until a GraphBuilder turns the nodes into tasks.
 */
import type { Future } from "../futures/future.js";
import type { TaskFunction } from "./compose.js";

export type Plan =
  /** Partitions held on the client; they travel as arguments of the tasks that use them. */
  | { readonly kind: "literal"; readonly partitions: readonly unknown[] }
  /** Partitions already on the cluster (persisted). */
  | { readonly kind: "futures"; readonly futures: readonly Future<unknown>[] }
  /** Partition i = fn(input_i, ...args, i). */
  | {
      readonly kind: "partitions";
      readonly input: Plan;
      readonly fn: TaskFunction;
      readonly args: readonly unknown[];
    }
  /** Partition (i * right + j) = fn(left_i, right_j): every pair of partitions. */
  | {
      readonly kind: "product";
      readonly left: Plan;
      readonly right: Plan;
      readonly fn: TaskFunction;
    }
  /**
   * A shuffle: each input partition is an array of `npartitions` buckets; output partition j
   * = merge([bucket j of input 0, bucket j of input 1, ...], ...args). Bucket j of input i is
   * picked out by its own small task on the worker holding input i, so only that bucket moves.
   */
  | {
      readonly kind: "shuffle";
      readonly input: Plan;
      readonly npartitions: number;
      readonly pick: TaskFunction;
      readonly merge: TaskFunction;
      readonly args: readonly unknown[];
    }
  /**
   * A tree reduction to one partition: the input partitions (partial results) are combined
   * `fanIn` at a time, level by level: combine(partials, ...args, isFinal).
   */
  | {
      readonly kind: "tree-reduce";
      readonly input: Plan;
      readonly combine: TaskFunction;
      readonly args: readonly unknown[];
      readonly fanIn: number;
    };

export function npartitionsOf(plan: Plan): number {
  switch (plan.kind) {
    case "literal":
      return plan.partitions.length;
    case "futures":
      return plan.futures.length;
    case "partitions":
      return npartitionsOf(plan.input);
    case "product":
      return npartitionsOf(plan.left) * npartitionsOf(plan.right);
    case "shuffle":
      return plan.npartitions;
    case "tree-reduce":
      return 1;
  }
}
