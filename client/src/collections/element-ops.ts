/**
 * Element-wise operations (map, filter, flatMap) fused into one task per partition, with a
 * "tail" that finishes the partition (return it, split it for a shuffle, fold it, ...).
 * A task function has the parameters (part, opArgs, tailArgs, index): `opArgs[k]` holds
 * the extra arguments of op k, so values (and futures) reach user functions as arguments.
 */
import {
  type Binding,
  composeTask,
  kernelBinding,
  type TaskFunction,
  userBinding,
} from "./compose.js";
import { lbIsThenable, lbSettle } from "./kernels.js";
import type { UserFunction } from "./user-function.js";

export type ElementOpKind = "map" | "filter" | "flatMap";

export interface ElementOp {
  readonly kind: ElementOpKind;
  readonly fn: UserFunction;
  /** Extra arguments after the element: fn(x, ...args). */
  readonly args: readonly unknown[];
}

/** What runs after the ops: statements over `$lb_items` (an array) and `$lb_targs`. */
export interface Tail {
  readonly name: string;
  readonly bindings: readonly Binding[];
  /** Must end in a `return`. */
  readonly body: string;
}

export const PIPELINE_PARAMS = ["$lb_part", "$lb_opArgs", "$lb_targs", "$lb_index"] as const;

/** The tail that returns the partition as it is. */
export const IDENTITY_TAIL: Tail = { name: "", bindings: [], body: "  return $lb_items;" };

function call(k: number, op: ElementOp, element: string): string {
  return op.args.length === 0
    ? `$lb_f${k}(${element})`
    : `$lb_f${k}(${element}, ...$lb_opArgs[${k}])`;
}

function opCode(k: number, op: ElementOp): string {
  const results = `await lbSettle($lb_items.map(($lb_x) => ${call(k, op, "$lb_x")}))`;
  switch (op.kind) {
    case "map":
      return `  $lb_items = ${results};`;
    case "filter":
      return [
        "  {",
        `    const $lb_keep = ${results};`,
        "    $lb_items = $lb_items.filter(($lb_x, $lb_i) => $lb_keep[$lb_i]);",
        "  }",
      ].join("\n");
    case "flatMap":
      return [
        "  {",
        `    const $lb_parts = ${results};`,
        "    $lb_items = [];",
        "    for (const $lb_p of $lb_parts) for (const $lb_y of $lb_p) $lb_items.push($lb_y);",
        "  }",
      ].join("\n");
  }
}

/** The task function for `ops` followed by `tail`, named after both (e.g. bag_map_parse_count). */
export function pipelineTask(prefix: string, ops: readonly ElementOp[], tail: Tail): TaskFunction {
  const bindings: Binding[] = [kernelBinding(lbIsThenable), kernelBinding(lbSettle)];
  const lines: string[] = ["  let $lb_items = $lb_part;"];
  const names: string[] = [prefix];
  ops.forEach((op, k) => {
    bindings.push(userBinding(`$lb_f${k}`, op.fn));
    lines.push(opCode(k, op));
    names.push(op.kind, op.fn.name === "task" ? "" : op.fn.name);
  });
  bindings.push(...tail.bindings);
  names.push(tail.name);
  lines.push(tail.body);
  return composeTask({
    name: names.filter((n) => n !== "").join("_"),
    params: PIPELINE_PARAMS,
    bindings,
    body: lines.join("\n"),
  });
}

/** The per-op extra arguments, in the shape the task function expects. */
export function opArgs(ops: readonly ElementOp[]): unknown[][] {
  return ops.map((op) => [...op.args]);
}
