/**
 * Turns records or columns held in the notebook into a Table's columnar partitions,
 * checking them on the way (pure: no client, no tasks).
 */
import { partitionCount, splitEvenly } from "./collection-options.js";
import { z } from "zod";
import type { Client } from "../client.js";
import type { Future } from "../futures/future.js";
import { closedError } from "./client-sink.js";
import { composeTask, type TaskFunction } from "./compose.js";
import { CollectionError } from "./errors.js";
import type { TablePartition } from "./table-kernels.js";
import { describeValue } from "./user-function.js";

export interface Partitioned {
  columns: string[];
  partitions: TablePartition[];
}

/** Records split into `npartitions`; columns are `given`, or every key in first-seen order. */
export function recordPartitions(
  records: unknown,
  given: string[] | undefined,
  npartitions: number | undefined,
): Partitioned {
  if (!Array.isArray(records)) {
    throw new CollectionError(
      "invalid-argument",
      `Table.fromRecords takes an array of records (plain objects), got ${describeValue(records)}`,
    );
  }
  const seen = new Set<string>();
  for (const [i, record] of records.entries()) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      throw new CollectionError(
        "invalid-argument",
        `Table.fromRecords: record ${i} is ${describeValue(record)}, not an object like { name: "a", value: 1 }`,
      );
    }
    if (!given) for (const key of Object.keys(record)) seen.add(key);
  }
  if (!given && seen.size === 0) {
    throw new CollectionError(
      "invalid-argument",
      "Table.fromRecords got no columns: the records have no fields (or there are none); " +
        'name the columns with { columns: ["origin", "delay"] }',
    );
  }
  const columns = checkColumnNames(given ?? [...seen], "Table.fromRecords columns");
  const n = partitionCount(records.length, npartitions);
  const partitions = splitEvenly(records as Record<string, unknown>[], n).map(
    (chunk): TablePartition => ({
      columns: [...columns],
      length: chunk.length,
      values: columns.map((column) => chunk.map((record) => record[column])),
    }),
  );
  return { columns, partitions };
}

/** Columns of equal length split into `npartitions` row ranges. */
export function columnPartitions(columns: unknown, npartitions: number | undefined): Partitioned {
  if (columns === null || typeof columns !== "object" || Array.isArray(columns)) {
    throw new CollectionError(
      "invalid-argument",
      `Table.fromColumns takes an object of column arrays, got ${describeValue(columns)}`,
    );
  }
  const names = checkColumnNames(Object.keys(columns), "Table.fromColumns");
  const arrays: unknown[][] = [];
  for (const name of names) {
    const array = (columns as Record<string, unknown>)[name];
    if (!Array.isArray(array)) {
      throw new CollectionError(
        "invalid-argument",
        `Table.fromColumns: column ${JSON.stringify(name)} is ${describeValue(array)}, not an array`,
      );
    }
    arrays.push(array);
  }
  const length = arrays[0]!.length;
  for (const [j, array] of arrays.entries()) {
    if (array.length !== length) {
      throw new CollectionError(
        "invalid-argument",
        `Table.fromColumns: column ${JSON.stringify(names[j])} has ${array.length} values, ` +
          `but ${JSON.stringify(names[0])} has ${length}: every column needs one value per row`,
      );
    }
  }
  const n = partitionCount(length, npartitions);
  const partitions: TablePartition[] = [];
  let start = 0;
  for (const rows of splitEvenly(Array.from({ length }), n)) {
    const end = start + rows.length;
    partitions.push({
      columns: [...names],
      length: rows.length,
      values: arrays.map((array) => array.slice(start, end)),
    });
    start = end;
  }
  return { columns: names, partitions };
}

/** Checks column names: non-empty strings, at least one, none twice. */
export function checkColumnNames(names: unknown, where: string): string[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new CollectionError("invalid-argument", `${where}: a table needs at least one column`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || name === "") {
      throw new CollectionError(
        "invalid-argument",
        `${where}: column names are non-empty strings, got ${describeValue(name)}`,
      );
    }
    if (seen.has(name))
      throw new CollectionError(
        "invalid-argument",
        `${where}: column ${JSON.stringify(name)} is named twice`,
      );
    seen.add(name);
  }
  return names as string[];
}

/**
 * The keys of a partition of records in first-seen order (a task: Bag.toTable and
 * Table.fromFutures learn the columns from every partition, as fromRecords does).
 */
export const RECORD_KEYS_TASK: TaskFunction = composeTask({
  name: "table_record_keys",
  params: ["records", "index"],
  bindings: [],
  body: `  if (!Array.isArray(records)) {
    throw new TypeError("partition " + index + " is not an array of records (plain objects)");
  }
  const seen = new Set();
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      throw new TypeError("partition " + index + ", item " + i + " is not a record (a plain object like { name: \\"a\\", value: 1 })");
    }
    for (const key of Object.keys(record)) seen.add(key);
  }
  return [...seen];`,
});

/** A partition of records as a columnar table partition with `columns`. */
export const RECORDS_TO_PARTITION_TASK: TaskFunction = composeTask({
  name: "table_from_records",
  params: ["records", "columns"],
  bindings: [],
  body: `  return {
    columns: [...columns],
    length: records.length,
    values: columns.map((column) => records.map((record) => record[column])),
  };`,
});

export const FromFuturesOptions = z.strictObject({
  /** Column names and order (default: every key of the records, in first-seen order). */
  columns: z.array(z.string()).min(1).optional(),
});
export type FromFuturesOptions = z.input<typeof FromFuturesOptions>;

/**
 * Every key of the records in the partitions `futures` hold, in first-seen order (as
 * fromRecords takes them): one small task per partition, on the worker holding it.
 */
export async function recordColumns(
  client: Client,
  futures: readonly Future<unknown>[],
): Promise<string[]> {
  const keys = futures.map((f, i) => client.submit(RECORD_KEYS_TASK.fn, f, i));
  let lists: string[][];
  try {
    lists = (await client.gather(keys)) as string[][];
  } catch (error) {
    throw closedError(error);
  } finally {
    for (const f of keys) f.release();
  }
  const seen = new Set<string>();
  for (const list of lists) for (const key of list) seen.add(key);
  return [...seen];
}
