/**
 * The per-partition endings (tails) and the combine tasks of Bag operations: shuffle
 * split/pick/merge, folds, foldBy, distinct and topK. Partial results of folds are
 * `[true, value]` or `[false]` (an empty partition without an initial value).
 */
import { composeTask, kernelBinding, type TaskFunction, userBinding } from "./compose.js";
import type { Tail } from "./element-ops.js";
import { lbCompare, lbIsThenable, lbKeyHash, lbKeyId } from "./kernels.js";
import type { UserFunction } from "./user-function.js";

const IS_THENABLE = kernelBinding(lbIsThenable);
const KEY_ID = kernelBinding(lbKeyId);

/** Calls a bound user function `name` and awaits the result only when it is a promise. */
function settled(target: string, call: string): string {
  return `${target} = ${call}; if (lbIsThenable(${target})) ${target} = await ${target};`;
}

/** `return $lb_items.slice(0, k)` (k = $lb_targs[0]): the first elements of a partition. */
export const TAKE_TAIL: Tail = {
  name: "take",
  bindings: [],
  body: "  return $lb_items.slice(0, $lb_targs[0]);",
};

/**
 * Groups a partition by key into `$lb_targs[0]` buckets by hash. Each bucket, an array of
 * [key, items[]], is serialised on its own (node:v8, as task values are), so the task that
 * picks one bucket out copies bytes instead of rebuilding every bucket's objects.
 */
export function splitTail(key: UserFunction): Tail {
  return {
    name: `groupBy_${key.name}`,
    bindings: [IS_THENABLE, KEY_ID, kernelBinding(lbKeyHash), userBinding("$lb_key", key)],
    body: `  const $lb_n = $lb_targs[0];
  const $lb_buckets = Array.from({ length: $lb_n }, () => new Map());
  for (const $lb_x of $lb_items) {
    let $lb_k;
    ${settled("$lb_k", "$lb_key($lb_x)")}
    const $lb_id = lbKeyId($lb_k);
    const $lb_bucket = $lb_buckets[lbKeyHash($lb_id) % $lb_n];
    let $lb_group = $lb_bucket.get($lb_id);
    if ($lb_group === undefined) {
      $lb_group = [$lb_k, []];
      $lb_bucket.set($lb_id, $lb_group);
    }
    $lb_group[1].push($lb_x);
  }
  const $lb_v8 = await import("node:v8");
  return $lb_buckets.map(($lb_b) => $lb_v8.serialize([...$lb_b.values()]));`,
  };
}

/** Picks bucket j out of a split partition (runs where the split partition is). */
export const PICK_TASK: TaskFunction = composeTask({
  name: "bag_shuffle_pick",
  params: ["buckets", "j"],
  bindings: [],
  body: "  return buckets[j];",
});

/** Merges the (serialised) buckets one output partition received: one group per key. */
export const MERGE_GROUPS_TASK: TaskFunction = composeTask({
  name: "bag_shuffle_merge",
  params: ["buckets"],
  bindings: [KEY_ID],
  body: `  const v8 = await import("node:v8");
  const groups = new Map();
  for (const bytes of buckets) {
    for (const [key, items] of v8.deserialize(bytes)) {
      const id = lbKeyId(key);
      const group = groups.get(id);
      if (group === undefined) groups.set(id, [key, items]);
      else for (const item of items) group[1].push(item);
    }
  }
  return [...groups.values()];`,
});

/** Folds a partition with `binop` from `initial` ($lb_targs = [hasInitial, initial]). */
export function foldTail(binop: UserFunction): Tail {
  return {
    name: `fold_${binop.name}`,
    bindings: [IS_THENABLE, userBinding("$lb_binop", binop)],
    body: `  let $lb_has = $lb_targs[0];
  let $lb_acc = $lb_has ? $lb_targs[1] : undefined;
  for (const $lb_x of $lb_items) {
    if (!$lb_has) {
      $lb_acc = $lb_x;
      $lb_has = true;
      continue;
    }
    ${settled("$lb_acc", "$lb_binop($lb_acc, $lb_x)")}
  }
  return $lb_has ? [true, $lb_acc] : [false];`,
  };
}

/** Combines fold partials `[has, value]` with `combine` (tree-reduce combine). */
export function foldCombineTask(combine: UserFunction): TaskFunction {
  return composeTask({
    name: `bag_fold_combine_${combine.name}`,
    params: ["partials", "isFinal"],
    bindings: [IS_THENABLE, userBinding("$lb_combine", combine)],
    body: `  let has = false;
  let acc;
  for (const partial of partials) {
    if (!partial[0]) continue;
    if (!has) {
      acc = partial[1];
      has = true;
      continue;
    }
    ${settled("acc", "$lb_combine(acc, partial[1])")}
  }
  return has ? [true, acc] : [false];`,
  });
}

/** Per key, folds a partition from a copy of `$lb_targs[0]`: [[key, acc], ...]. */
export function foldByTail(key: UserFunction, binop: UserFunction): Tail {
  return {
    name: `foldBy_${key.name}`,
    bindings: [IS_THENABLE, KEY_ID, userBinding("$lb_key", key), userBinding("$lb_binop", binop)],
    body: `  const $lb_groups = new Map();
  for (const $lb_x of $lb_items) {
    let $lb_k;
    ${settled("$lb_k", "$lb_key($lb_x)")}
    const $lb_id = lbKeyId($lb_k);
    let $lb_group = $lb_groups.get($lb_id);
    if ($lb_group === undefined) {
      $lb_group = [$lb_k, structuredClone($lb_targs[0])];
      $lb_groups.set($lb_id, $lb_group);
    }
    ${settled("$lb_group[1]", "$lb_binop($lb_group[1], $lb_x)")}
  }
  return [...$lb_groups.values()];`,
  };
}

/** Merges foldBy partials per key with `combine`. */
export function foldByCombineTask(combine: UserFunction): TaskFunction {
  return composeTask({
    name: `bag_foldBy_combine_${combine.name}`,
    params: ["partials", "isFinal"],
    bindings: [IS_THENABLE, KEY_ID, userBinding("$lb_combine", combine)],
    body: `  const groups = new Map();
  for (const partial of partials) {
    for (const entry of partial) {
      const id = lbKeyId(entry[0]);
      const group = groups.get(id);
      if (group === undefined) groups.set(id, entry);
      else {
        ${settled("group[1]", "$lb_combine(group[1], entry[1])")}
      }
    }
  }
  return [...groups.values()];`,
  });
}

/** The first element per key (the element itself without a key function): [[key, x], ...]. */
export function distinctTail(key: UserFunction | undefined): Tail {
  return {
    name: "distinct",
    bindings: key ? [IS_THENABLE, KEY_ID, userBinding("$lb_key", key)] : [KEY_ID],
    body: `  const $lb_seen = new Map();
  for (const $lb_x of $lb_items) {
    let $lb_k = $lb_x;
    ${key ? settled("$lb_k", "$lb_key($lb_x)") : ""}
    const $lb_id = lbKeyId($lb_k);
    if (!$lb_seen.has($lb_id)) $lb_seen.set($lb_id, [$lb_k, $lb_x]);
  }
  return [...$lb_seen.values()];`,
  };
}

export const DISTINCT_COMBINE_TASK: TaskFunction = composeTask({
  name: "bag_distinct_combine",
  params: ["partials", "isFinal"],
  bindings: [KEY_ID],
  body: `  const seen = new Map();
  for (const partial of partials) {
    for (const entry of partial) {
      const id = lbKeyId(entry[0]);
      if (!seen.has(id)) seen.set(id, entry);
    }
  }
  const entries = [...seen.values()];
  return isFinal ? entries.map((entry) => entry[1]) : entries;`,
});

/** The k largest elements of a partition by key ($lb_targs = [k]): [[key, x], ...], largest first. */
export function topKTail(key: UserFunction | undefined): Tail {
  return {
    name: "topK",
    bindings: [
      kernelBinding(lbCompare),
      ...(key ? [IS_THENABLE, userBinding("$lb_key", key)] : []),
    ],
    body: `  const $lb_entries = [];
  for (const $lb_x of $lb_items) {
    let $lb_k = $lb_x;
    ${key ? settled("$lb_k", "$lb_key($lb_x)") : ""}
    $lb_entries.push([$lb_k, $lb_x]);
  }
  $lb_entries.sort(($lb_a, $lb_b) => lbCompare($lb_a[0], $lb_b[0], true));
  return $lb_entries.slice(0, $lb_targs[0]);`,
  };
}

export const TOPK_COMBINE_TASK: TaskFunction = composeTask({
  name: "bag_topK_combine",
  params: ["partials", "k", "isFinal"],
  bindings: [kernelBinding(lbCompare)],
  body: `  const entries = partials.flat();
  entries.sort((a, b) => lbCompare(a[0], b[0], true));
  const top = entries.slice(0, k);
  return isFinal ? top.map((entry) => entry[1]) : top;`,
});

/**
 * The first smallest (largest when descending) item of a partition, by `key` when given
 * ($lb_targs = [descending]): [true, item, key], or [false] for an empty partition.
 */
export function extremeTail(descending: boolean, key: UserFunction | undefined): Tail {
  return {
    name: descending ? "max" : "min",
    bindings: [
      kernelBinding(lbCompare),
      ...(key ? [IS_THENABLE, userBinding("$lb_key", key)] : []),
    ],
    body: `  let $lb_has = false;
  let $lb_best;
  let $lb_bestKey;
  for (const $lb_x of $lb_items) {
    let $lb_k = $lb_x;
    ${key ? settled("$lb_k", "$lb_key($lb_x)") : ""}
    if (!$lb_has || lbCompare($lb_k, $lb_bestKey, $lb_targs[0]) < 0) {
      $lb_best = $lb_x;
      $lb_bestKey = $lb_k;
      $lb_has = true;
    }
  }
  return $lb_has ? [true, $lb_best, $lb_bestKey] : [false];`,
  };
}

/** Combines min/max partials `[has, item, key]`, keeping the first of equals (partition order). */
export const EXTREME_COMBINE_TASK: TaskFunction = composeTask({
  name: "bag_extreme_combine",
  params: ["partials", "descending", "isFinal"],
  bindings: [kernelBinding(lbCompare)],
  body: `  let acc = [false];
  for (const partial of partials) {
    if (partial[0] && (!acc[0] || lbCompare(partial[2], acc[2], descending) < 0)) acc = partial;
  }
  return acc;`,
});

/** A user-level reduction: perPartition(items) at the leaves, aggregate(partials) above. */
export function reductionTail(perPartition: UserFunction): Tail {
  return {
    name: `reduction_${perPartition.name}`,
    bindings: [IS_THENABLE, userBinding("$lb_per", perPartition)],
    body: `  let $lb_result;
  ${settled("$lb_result", "$lb_per($lb_items)")}
  return $lb_result;`,
  };
}

export function reductionCombineTask(aggregate: UserFunction): TaskFunction {
  return composeTask({
    name: `bag_reduction_${aggregate.name}`,
    params: ["partials", "isFinal"],
    bindings: [IS_THENABLE, userBinding("$lb_aggregate", aggregate)],
    body: `  let result;
  ${settled("result", "$lb_aggregate(partials)")}
  return result;`,
  });
}

/** A partition of the numbers [bounds[0], bounds[1]). */
export const RANGE_TASK: TaskFunction = composeTask({
  name: "bag_range",
  params: ["bounds"],
  bindings: [],
  body: `  const out = [];
  for (let i = bounds[0]; i < bounds[1]; i++) out.push(i);
  return out;`,
});

/** Every pair of a left and a right partition. */
export const PRODUCT_TASK: TaskFunction = composeTask({
  name: "bag_product",
  params: ["left", "right"],
  bindings: [],
  body: `  const out = [];
  for (const x of left) for (const y of right) out.push([x, y]);
  return out;`,
});
