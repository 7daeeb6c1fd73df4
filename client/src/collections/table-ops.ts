/**
 * Row operations of a Table (filter, withColumn, select) fused into one task per
 * partition, followed by a tail, like element-ops.ts for bags. Task parameters are
 * ($lb_part, $lb_opArgs, $lb_targs, $lb_index); `$lb_part` is a columnar partition.
 */
import {
  type Binding,
  composeTask,
  kernelBinding,
  type TaskFunction,
  userBinding,
} from "./compose.js";
import { lbIsThenable, lbKeyId, lbLookup, lbSettle } from "./kernels.js";
import { lbMask, lbRows, lbSelect, lbSetColumn } from "./table-kernels.js";
import type { UserFunction } from "./user-function.js";

export type RowOp =
  | { readonly kind: "filter"; readonly fn: UserFunction; readonly args: readonly unknown[] }
  | {
      readonly kind: "withColumn";
      readonly name: string;
      readonly fn: UserFunction;
      readonly args: readonly unknown[];
    }
  | { readonly kind: "select"; readonly columns: readonly string[] }
  | { readonly kind: "lookup"; readonly column: string; readonly values: readonly unknown[] };

export interface TableTail {
  readonly name: string;
  readonly bindings: readonly Binding[];
  /** Statements over `$lb_part` and `$lb_targs`, ending in a `return`. */
  readonly body: string;
}

export const TABLE_IDENTITY_TAIL: TableTail = {
  name: "",
  bindings: [],
  body: "  return $lb_part;",
};

function rowResults(k: number, args: number): string {
  const call = args === 0 ? `$lb_f${k}($lb_row)` : `$lb_f${k}($lb_row, ...$lb_opArgs[${k}][1])`;
  return `await lbSettle(lbRows($lb_part).map(($lb_row) => ${call}))`;
}

function opCode(k: number, op: RowOp): string {
  switch (op.kind) {
    case "filter":
      return `  $lb_part = lbMask($lb_part, ${rowResults(k, op.args.length)});`;
    case "withColumn":
      return `  $lb_part = lbSetColumn($lb_part, $lb_opArgs[${k}][0], ${rowResults(k, op.args.length)});`;
    case "select":
      return `  $lb_part = lbSelect($lb_part, $lb_opArgs[${k}][0]);`;
    case "lookup":
      return `  $lb_part = lbMask($lb_part, lbLookup($lb_part, $lb_opArgs[${k}][0], $lb_opArgs[${k}][1]));`;
  }
}

export function tablePipelineTask(ops: readonly RowOp[], tail: TableTail): TaskFunction {
  const bindings: Binding[] = [
    kernelBinding(lbIsThenable),
    kernelBinding(lbSettle),
    kernelBinding(lbRows),
    kernelBinding(lbMask),
    kernelBinding(lbSetColumn),
    kernelBinding(lbSelect),
  ];
  const lines: string[] = [];
  const names = ["table"];
  for (const [k, op] of ops.entries()) {
    if (op.kind === "select") names.push("select");
    else if (op.kind === "lookup") {
      bindings.push(kernelBinding(lbKeyId), kernelBinding(lbLookup));
      names.push("loc");
    } else {
      bindings.push(userBinding(`$lb_f${k}`, op.fn));
      names.push(op.kind, op.fn.name === "task" ? "" : op.fn.name);
    }
    lines.push(opCode(k, op));
  }
  bindings.push(...tail.bindings);
  names.push(tail.name);
  lines.push(tail.body);
  return composeTask({
    name: names.filter((n) => n !== "").join("_"),
    params: ["$lb_part", "$lb_opArgs", "$lb_targs", "$lb_index"],
    bindings,
    body: lines.join("\n"),
  });
}

/** Each op's data arguments: filter → [_, extra], withColumn → [name, extra], select → [columns], lookup → [column, values]. */
export function rowOpArgs(ops: readonly RowOp[]): unknown[][] {
  return ops.map(argsOf);
}

function argsOf(op: RowOp): unknown[] {
  switch (op.kind) {
    case "filter":
      return [null, [...op.args]];
    case "withColumn":
      return [op.name, [...op.args]];
    case "select":
      return [[...op.columns]];
    case "lookup":
      return [op.column, [...op.values]];
  }
}
