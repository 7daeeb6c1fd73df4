/**
 * Helpers that run inside Table tasks (embedded by source, like kernels.ts). A table
 * partition is columnar: `{ columns: string[], length: number, values: unknown[][] }`,
 * `values[j]` holding column j. Row objects are built only for user functions.
 */

export interface TablePartition {
  columns: string[];
  length: number;
  values: unknown[][];
}

/** The rows of a partition as plain objects (for row predicates and new columns). */
export function lbRows(part: TablePartition): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = new Array(part.length);
  for (let i = 0; i < part.length; i++) {
    const row: Record<string, unknown> = {};
    for (let j = 0; j < part.columns.length; j++) row[part.columns[j]!] = part.values[j]![i];
    rows[i] = row;
  }
  return rows;
}

/** The rows whose `keep` entry is truthy. */
export function lbMask(part: TablePartition, keep: unknown[]): TablePartition {
  const values = part.values.map((column) => column.filter((_, i) => keep[i]));
  let length = 0;
  for (const k of keep) if (k) length++;
  return { columns: part.columns, length, values };
}

/** The partition with column `name` set to `column` (replaced, or added at the end). */
export function lbSetColumn(part: TablePartition, name: string, column: unknown[]): TablePartition {
  const at = part.columns.indexOf(name);
  if (at >= 0) {
    const values = part.values.slice();
    values[at] = column;
    return { columns: part.columns, length: part.length, values };
  }
  return {
    columns: [...part.columns, name],
    length: part.length,
    values: [...part.values, column],
  };
}

/** Only the columns `names`, in that order. */
export function lbSelect(part: TablePartition, names: string[]): TablePartition {
  return {
    columns: names,
    length: part.length,
    values: names.map((name) => part.values[part.columns.indexOf(name)]!),
  };
}

/** The rows in the order of `order` (indices into the partition). */
export function lbTakeRows(part: TablePartition, order: number[]): TablePartition {
  return {
    columns: part.columns,
    length: order.length,
    values: part.values.map((column) => order.map((i) => column[i])),
  };
}

/** Partitions with the same columns, one after another. */
export function lbConcat(parts: TablePartition[], columns: string[]): TablePartition {
  const values: unknown[][] = columns.map(() => []);
  let length = 0;
  for (const part of parts) {
    for (let j = 0; j < columns.length; j++) {
      const column = part.values[part.columns.indexOf(columns[j]!)]!;
      const target = values[j]!;
      for (const v of column) target.push(v);
    }
    length += part.length;
  }
  return { columns, length, values };
}
