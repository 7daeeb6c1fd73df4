/**
 * Group-by aggregation, sorting, counting and describe for Tables: per-partition partial
 * results combined up a tree (no shuffle). A group's accumulator per aggregation is
 * [n, sum, min, max] over the column's present values (null, undefined and NaN skipped).
 */
import { z } from "zod";
import { composeTask, kernelBinding, type TaskFunction } from "./compose.js";
import { CollectionError } from "./errors.js";
import { lbCompare, lbKeyId } from "./kernels.js";
import { lbConcat, lbTakeRows } from "./table-kernels.js";
import type { TableTail } from "./table-ops.js";

export const AGGREGATIONS = ["sum", "mean", "count", "min", "max"] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** `{ out: [column, aggregation] }`. */
export const AggSpec = z.record(
  z.string().min(1),
  z.tuple([z.string().min(1), z.enum(AGGREGATIONS)]),
);

/** [out, column, aggregation] per output column, after checking names against `columns`. */
export function parseAggSpec(
  spec: unknown,
  columns: readonly string[],
  groupColumns: readonly string[],
): [string, string, Aggregation][] {
  if (
    spec === null ||
    typeof spec !== "object" ||
    Array.isArray(spec) ||
    Object.keys(spec).length === 0
  ) {
    throw new CollectionError(
      "invalid-aggregation",
      'agg() takes an object of output columns, e.g. { total: ["delay", "sum"], flights: ["delay", "count"] }',
    );
  }
  for (const [out, entry] of Object.entries(spec)) {
    const parsed = AggSpec.safeParse({ [out]: entry });
    if (!parsed.success) {
      throw new CollectionError(
        "invalid-aggregation",
        `agg() output ${JSON.stringify(out)} must be [column, aggregation] with aggregation one of ` +
          `${AGGREGATIONS.join(", ")}; got ${JSON.stringify(entry)}`,
      );
    }
  }
  const aggs = Object.entries(spec as Record<string, [string, Aggregation]>).map(
    ([out, [column, op]]): [string, string, Aggregation] => [out, column, op],
  );
  for (const [out, column] of aggs) {
    if (!columns.includes(column))
      throw unknownColumn(column, columns, `agg() output ${JSON.stringify(out)}`);
    if (groupColumns.includes(out)) {
      throw new CollectionError(
        "invalid-aggregation",
        `agg() output ${JSON.stringify(out)} has the name of a group-by column: pick another name`,
      );
    }
  }
  return aggs;
}

export function unknownColumn(
  column: unknown,
  columns: readonly string[],
  where: string,
): CollectionError {
  return new CollectionError(
    "unknown-column",
    `${where} uses column ${JSON.stringify(column)}, which the table does not have; its columns are: ${
      columns.join(", ") || "(none)"
    }`,
  );
}

const COMPARE = kernelBinding(lbCompare);
const KEY_ID = kernelBinding(lbKeyId);

/** Per partition: [[keyValues, accumulators], ...] ($lb_targs = [groupColumns, aggs]). */
export const GROUP_AGG_TAIL: TableTail = {
  name: "groupBy_agg",
  bindings: [COMPARE, KEY_ID],
  body: `  const [$lb_groupCols, $lb_aggs] = $lb_targs;
  const $lb_g = $lb_groupCols.map(($lb_c) => $lb_part.values[$lb_part.columns.indexOf($lb_c)]);
  const $lb_a = $lb_aggs.map(($lb_s) => $lb_part.values[$lb_part.columns.indexOf($lb_s[1])]);
  const $lb_groups = new Map();
  for (let $lb_i = 0; $lb_i < $lb_part.length; $lb_i++) {
    const $lb_key = $lb_g.map(($lb_col) => $lb_col[$lb_i]);
    const $lb_id = lbKeyId($lb_key);
    let $lb_group = $lb_groups.get($lb_id);
    if ($lb_group === undefined) {
      $lb_group = [$lb_key, $lb_aggs.map(() => [0, 0, undefined, undefined])];
      $lb_groups.set($lb_id, $lb_group);
    }
    for (let $lb_j = 0; $lb_j < $lb_a.length; $lb_j++) {
      const $lb_v = $lb_a[$lb_j][$lb_i];
      if ($lb_v === undefined || $lb_v === null || Number.isNaN($lb_v)) continue;
      const $lb_acc = $lb_group[1][$lb_j];
      $lb_acc[0] += 1;
      if (typeof $lb_v === "number") $lb_acc[1] += $lb_v;
      if ($lb_acc[0] === 1 || lbCompare($lb_v, $lb_acc[2]) < 0) $lb_acc[2] = $lb_v;
      if ($lb_acc[0] === 1 || lbCompare($lb_v, $lb_acc[3]) > 0) $lb_acc[3] = $lb_v;
    }
  }
  return [...$lb_groups.values()];`,
};

/** Merges group partials; the last level turns them into a partition sorted by group key. */
export const GROUP_AGG_COMBINE_TASK: TaskFunction = composeTask({
  name: "table_groupBy_agg_combine",
  params: ["partials", "groupCols", "aggs", "isFinal"],
  bindings: [COMPARE, KEY_ID],
  body: `  const groups = new Map();
  for (const partial of partials) {
    for (const entry of partial) {
      const id = lbKeyId(entry[0]);
      const group = groups.get(id);
      if (group === undefined) {
        groups.set(id, entry);
        continue;
      }
      for (let j = 0; j < aggs.length; j++) {
        const acc = group[1][j];
        const other = entry[1][j];
        if (other[0] === 0) continue;
        if (acc[0] === 0 || lbCompare(other[2], acc[2]) < 0) acc[2] = other[2];
        if (acc[0] === 0 || lbCompare(other[3], acc[3]) > 0) acc[3] = other[3];
        acc[0] += other[0];
        acc[1] += other[1];
      }
    }
  }
  const entries = [...groups.values()];
  if (!isFinal) return entries;
  entries.sort((x, y) => {
    for (let k = 0; k < x[0].length; k++) {
      const order = lbCompare(x[0][k], y[0][k]);
      if (order !== 0) return order;
    }
    return 0;
  });
  const values = [...groupCols.map(() => []), ...aggs.map(() => [])];
  for (const [key, accs] of entries) {
    for (let k = 0; k < key.length; k++) values[k].push(key[k]);
    for (let j = 0; j < aggs.length; j++) {
      const [n, sum, min, max] = accs[j];
      const op = aggs[j][2];
      const value =
        op === "count" ? n
        : op === "sum" ? sum
        : n === 0 ? null
        : op === "mean" ? sum / n
        : op === "min" ? min
        : max;
      values[groupCols.length + j].push(value);
    }
  }
  return { columns: [...groupCols, ...aggs.map((a) => a[0])], length: entries.length, values };`,
});

const SORT_BODY = `  const [$lb_col, $lb_desc, $lb_limit] = $lb_targs;
  const $lb_column = $lb_part.values[$lb_part.columns.indexOf($lb_col)];
  const $lb_order = Array.from({ length: $lb_part.length }, ($lb_x, $lb_i) => $lb_i);
  $lb_order.sort(($lb_a, $lb_b) => lbCompare($lb_column[$lb_a], $lb_column[$lb_b], $lb_desc) || $lb_a - $lb_b);
  return lbTakeRows($lb_part, $lb_limit === null ? $lb_order : $lb_order.slice(0, $lb_limit));`;

/** Sorts a partition by a column ($lb_targs = [column, descending, limit | null]). */
export const SORT_TAIL: TableTail = {
  name: "sortBy",
  bindings: [COMPARE, kernelBinding(lbTakeRows)],
  body: SORT_BODY,
};

/** Concatenates sorted partitions (in order) and sorts them again: a stable merge. */
export const SORT_COMBINE_TASK: TaskFunction = composeTask({
  name: "table_sortBy_combine",
  params: ["partials", "$lb_targs", "isFinal"],
  bindings: [COMPARE, kernelBinding(lbTakeRows), kernelBinding(lbConcat)],
  body: `  const $lb_part = lbConcat(partials, $lb_targs[3]);\n${SORT_BODY}`,
});

/** The first $lb_targs[0] rows. */
export const HEAD_TAIL: TableTail = {
  name: "head",
  bindings: [kernelBinding(lbTakeRows)],
  body: `  const $lb_n = Math.min($lb_targs[0], $lb_part.length);
  return lbTakeRows($lb_part, Array.from({ length: $lb_n }, ($lb_x, $lb_i) => $lb_i));`,
};

export const COUNT_TAIL: TableTail = {
  name: "count",
  bindings: [],
  body: "  return $lb_part.length;",
};

export const SUM_COMBINE_TASK: TaskFunction = composeTask({
  name: "table_count_combine",
  params: ["partials", "isFinal"],
  bindings: [],
  body: "  let total = 0;\n  for (const n of partials) total += n;\n  return total;",
});

/** [n, mean, m2, min, max] of a numeric column's present values ($lb_targs = [column]). */
export const DESCRIBE_TAIL: TableTail = {
  name: "describe",
  bindings: [],
  body: `  const $lb_column = $lb_part.values[$lb_part.columns.indexOf($lb_targs[0])];
  let n = 0, mean = 0, m2 = 0, min = null, max = null;
  for (const v of $lb_column) {
    if (typeof v !== "number" || Number.isNaN(v)) continue;
    n += 1;
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return [n, mean, m2, min, max];`,
};

/** Chan et al.'s parallel combination of counts, means and squared deviations. */
export const DESCRIBE_COMBINE_TASK: TaskFunction = composeTask({
  name: "table_describe_combine",
  params: ["partials", "isFinal"],
  bindings: [],
  body: `  let n = 0, mean = 0, m2 = 0, min = null, max = null;
  for (const [nb, meanb, m2b, minb, maxb] of partials) {
    if (nb === 0) continue;
    const total = n + nb;
    const delta = meanb - mean;
    mean += (delta * nb) / total;
    m2 += m2b + (delta * delta * n * nb) / total;
    n = total;
    if (min === null || minb < min) min = minb;
    if (max === null || maxb > max) max = maxb;
  }
  return [n, mean, m2, min, max];`,
});

export interface Description {
  /** Numeric values (others, null and NaN are skipped). */
  count: number;
  mean: number | null;
  /** Sample standard deviation (n - 1); null below two values. */
  std: number | null;
  min: number | null;
  max: number | null;
}

export function finishDescription(value: unknown): Description {
  const [n, mean, m2, min, max] = value as [number, number, number, number | null, number | null];
  return {
    count: n,
    mean: n === 0 ? null : mean,
    std: n < 2 ? null : Math.sqrt(m2 / (n - 1)),
    min,
    max,
  };
}
