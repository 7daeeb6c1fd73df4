/**
 * A Table: a partitioned, columnar-lite table of records (like a small dask.dataframe),
 * built lazily into a task graph and run by `compute()`.
 *
 *   const flights = Table.fromRecords(client, records, { npartitions: 4 });
 *   await flights
 *     .filter((r) => r.delay > 0)
 *     .groupBy("origin")
 *     .agg({ meanDelay: ["delay", "mean"], flights: ["delay", "count"] })
 *     .sortBy("meanDelay", { descending: true })
 *     .head(5);
 *
 * Row steps (filter, withColumn, select) fuse into one task per partition. Group-by
 * aggregates per partition, then combines partial results up a tree (no shuffle).
 */
import type { Client } from "../client.js";
import { ClientRun } from "./client-sink.js";
import { type PersistOptions, parsePersistOptions } from "./persist-options.js";
import {
  checkClient,
  checkFutures,
  DEFAULT_FAN_IN,
  PartitionOptions,
  parseCollectionOptions,
} from "./collection-options.js";
import type { TaskFunction } from "./compose.js";
import { CollectionError } from "./errors.js";
import { needsModuleBoundary } from "./module-steps.js";
import { npartitionsOf, type Plan } from "./plan.js";
import { Scalar } from "./scalar.js";
import {
  type Aggregation,
  COUNT_TAIL,
  DESCRIBE_COMBINE_TASK,
  DESCRIBE_TAIL,
  type Description,
  finishDescription,
  GROUP_AGG_COMBINE_TASK,
  GROUP_AGG_TAIL,
  HEAD_TAIL,
  parseAggSpec,
  SORT_COMBINE_TASK,
  SORT_TAIL,
  SUM_COMBINE_TASK,
  unknownColumn,
} from "./table-aggregations.js";
import { lbRows, type TablePartition } from "./table-kernels.js";
import {
  checkColumnNames,
  columnPartitions,
  FromFuturesOptions,
  RECORDS_TO_PARTITION_TASK,
  recordColumns,
  recordPartitions,
} from "./table-sources.js";
import { type CsvOptions, checkSources, csvPlan, parseCsvOptions } from "./data-sources.js";
import { Future } from "../futures/future.js";
import {
  type RowOp,
  rowOpArgs,
  TABLE_IDENTITY_TAIL,
  type TableTail,
  tablePipelineTask,
} from "./table-ops.js";
import { describeValue, userFunction } from "./user-function.js";

/** A record: any object type (interfaces included) whose keys are the column names. */
export type Row = object;
type Awaitable<T> = T | Promise<T>;

/** The type of an aggregated column: counts and sums are numbers, min/max keep the column's type. */
type AggResult<R extends Row, S> = S extends readonly [infer C, infer Op]
  ? Op extends "count" | "sum"
    ? number
    : Op extends "mean"
      ? number | null
      : C extends keyof R
        ? R[C] | null
        : unknown
  : unknown;

export type AggSpecOf<R extends Row> = Record<string, readonly [keyof R & string, Aggregation]>;

export interface TableOptions extends PartitionOptions {
  /** Column names and order (default: every key of the records, in first-seen order). */
  columns?: string[];
}

export interface SortOptions {
  descending?: boolean;
}

interface SortSpec {
  input: Plan;
  column: string;
  descending: boolean;
}

export class Table<R extends Row = Record<string, unknown>> {
  readonly #client: Client;
  readonly #base: Plan;
  /** The plan of this collection's rows/items, made once (so a graph can share it). */
  #flushed: Plan | undefined;
  readonly #ops: readonly RowOp[];
  readonly #columns: readonly string[];
  /** Set on a table made by sortBy (and nothing after it): head(n) then sorts only n per partition. */
  readonly #sort: SortSpec | undefined;
  /** The column `loc()` looks rows up by (setIndex), kept while the column is. */
  readonly #index: string | undefined;

  private constructor(
    client: Client,
    base: Plan,
    ops: readonly RowOp[],
    columns: readonly string[],
    sort?: SortSpec,
    index?: string,
  ) {
    this.#client = client;
    this.#base = base;
    this.#ops = ops;
    this.#columns = columns;
    this.#sort = sort;
    this.#index = index !== undefined && columns.includes(index) ? index : undefined;
  }

  /** A table of plain-object records, split into `npartitions` (default up to 16). */
  static fromRecords<R extends Row>(
    client: Client,
    records: readonly R[],
    options?: TableOptions,
  ): Table<R> {
    const c = checkClient(client, "Table.fromRecords");
    const { columns: given, ...rest } = options ?? {};
    const parsed = parseCollectionOptions(PartitionOptions, rest, "Table.fromRecords options");
    const { columns, partitions } = recordPartitions(records, given, parsed.npartitions);
    return new Table<R>(c, { kind: "literal", partitions }, [], columns);
  }

  /** A table from columns of equal length: `{ origin: ["SFO", ...], delay: [12, ...] }`. */
  static fromColumns<R extends Row>(
    client: Client,
    columns: { [K in keyof R]: readonly R[K][] },
    options?: PartitionOptions,
  ): Table<R> {
    const c = checkClient(client, "Table.fromColumns");
    const parsed = parseCollectionOptions(PartitionOptions, options, "Table.fromColumns options");
    const { columns: names, partitions } = columnPartitions(columns, parsed.npartitions);
    return new Table<R>(c, { kind: "literal", partitions }, [], names);
  }

  /**
   * A table read ON THE WORKERS from CSV files: `paths` is a path, an http(s) URL or a glob
   * ("data/*.csv"), or an array of them; one partition per file. Workers read local paths
   * themselves (the folder must be one they can read: in a sandbox, the notebook's folder
   * on the local backend) and fetch URLs themselves. Relative paths are taken from the
   * notebook's folder. Awaits one small task that lists the files and reads the header.
   */
  static async readCsv<R extends Row = Record<string, unknown>>(
    client: Client,
    paths: string | readonly string[],
    options?: CsvOptions,
  ): Promise<Table<R>> {
    const c = checkClient(client, "Table.readCsv");
    const sources = checkSources(paths, "Table.readCsv");
    const { plan, columns } = await csvPlan(c, sources, parseCsvOptions(options));
    return new Table<R>(c, plan, [], columns);
  }

  /**
   * A table whose partitions are the results of `futures`, each an array of records (e.g.
   * `client.map(loadChunk, paths)`). Columns: `options.columns`, or every key of the
   * records in first-seen order (learnt with one small task per partition).
   */
  static async fromFutures<R extends Row = Record<string, unknown>>(
    futures: readonly Future<readonly R[]>[],
    options?: FromFuturesOptions,
  ): Promise<Table<R>> {
    checkFutures(futures, "Table.fromFutures", "records");
    const owner = Future.ownerOf(futures[0]!);
    if (futures.some((f) => Future.ownerOf(f) !== owner)) {
      throw new CollectionError(
        "different-clients",
        "Table.fromFutures: the futures come from different clients; make them all with one client",
      );
    }
    const client = checkClient(owner, "Table.fromFutures");
    const parsed = parseCollectionOptions(FromFuturesOptions, options, "Table.fromFutures options");
    const columns = parsed.columns ?? (await recordColumns(client, futures));
    if (columns.length === 0) {
      throw new CollectionError(
        "invalid-argument",
        "Table.fromFutures (or bag.toTable) got no columns: the records have no fields (or there are none); " +
          'name the columns with { columns: ["origin", "delay"] }',
      );
    }
    checkColumnNames(columns, "Table.fromFutures columns");
    return Table.fromRecordPartitions<R>(
      client,
      { kind: "futures", futures: [...futures] },
      columns,
    );
  }

  /** @internal A table over `plan`, whose partitions are arrays of records (Bag.toTable). */
  static fromRecordPartitions<R extends Row>(
    client: Client,
    plan: Plan,
    columns: readonly string[],
  ): Table<R> {
    return new Table<R>(
      client,
      { kind: "partitions", input: plan, fn: RECORDS_TO_PARTITION_TASK, args: [columns] },
      [],
      columns,
    );
  }

  get client(): Client {
    return this.#client;
  }

  get columns(): readonly string[] {
    return this.#columns;
  }

  get npartitions(): number {
    return npartitionsOf(this.#base);
  }

  /** The column set by setIndex (what loc() looks up), or undefined. */
  get index(): string | undefined {
    return this.#index;
  }

  // ---------------------------------------------------------------------------------------
  // row steps (fused into one task per partition)

  /** The rows for which pred(row, ...args) is truthy. */
  filter<A extends unknown[]>(
    pred: (row: R, ...args: A) => Awaitable<unknown>,
    ...args: A
  ): Table<R> {
    const fn = userFunction(pred, "Table.filter", "table.filter((row, $V) => ..., $V)");
    return this.#with({ kind: "filter", fn, args }, this.#columns);
  }

  /** Adds (or replaces) column `name` with fn(row, ...args) for every row. */
  withColumn<K extends string, V, A extends unknown[]>(
    name: K,
    fn: (row: R, ...args: A) => Awaitable<V>,
    ...args: A
  ): Table<Omit<R, K> & { [P in K]: V }> {
    const [checked] = checkColumnNames([name], "Table.withColumn");
    const f = userFunction(
      fn,
      "Table.withColumn",
      `table.withColumn(${JSON.stringify(checked)}, (row, $V) => ..., $V)`,
    );
    const columns = this.#columns.includes(checked!) ? this.#columns : [...this.#columns, checked!];
    return this.#with({ kind: "withColumn", name: checked!, fn: f, args }, columns) as never;
  }

  /** Only these columns, in this order. */
  select<K extends keyof R & string>(...columns: K[]): Table<Pick<R, K>> {
    if (columns.length === 0) {
      throw new CollectionError(
        "invalid-argument",
        'Table.select needs at least one column: select("origin", "delay")',
      );
    }
    for (const column of columns) this.#checkColumn(column, "Table.select");
    if (new Set(columns).size !== columns.length) {
      throw new CollectionError(
        "invalid-argument",
        `Table.select: a column is named twice in ${columns.join(", ")}`,
      );
    }
    return this.#with({ kind: "select", columns }, columns) as never;
  }

  // ---------------------------------------------------------------------------------------
  // whole-table steps

  /** Groups rows by one or more columns; `.agg({...})` says what to compute per group. */
  groupBy<G extends keyof R & string>(columns: G | readonly G[]): GroupedTable<R, G> {
    const list = (Array.isArray(columns) ? [...columns] : [columns]) as G[];
    if (list.length === 0) {
      throw new CollectionError(
        "invalid-argument",
        'Table.groupBy needs at least one column: groupBy("origin")',
      );
    }
    for (const column of list) this.#checkColumn(column, "Table.groupBy");
    return new GroupedTable<R, G>((spec) => {
      const aggs = parseAggSpec(spec, this.#columns, list);
      const plan = this.#treeReduce(GROUP_AGG_TAIL, [list, aggs], GROUP_AGG_COMBINE_TASK, [
        list,
        aggs,
      ]);
      return new Table(this.#client, plan, [], [...list, ...aggs.map((a) => a[0])]);
    });
  }

  /**
   * The same table with `column` as its index: `loc(value)` then looks rows up by it, like
   * pandas' `df.set_index("origin").loc["SFO"]`. The column stays a column; nothing is
   * moved (a lookup scans every partition), and the index is kept through row steps,
   * sortBy and persist while the column exists.
   */
  setIndex(column: keyof R & string): Table<R> {
    this.#checkColumn(column, "Table.setIndex");
    return new Table<R>(this.#client, this.#base, this.#ops, this.#columns, this.#sort, column);
  }

  /**
   * The rows whose index value equals `label`, or one of `labels` when given an array
   * (equality as for groupBy keys: 1 and 1n are one label; wrap a tuple label in an
   * array: loc([[2024, "SFO"]])). Rows keep the table's order. Lazy, like filter.
   */
  loc(label: unknown): Table<R> {
    if (this.#index === undefined) {
      throw new CollectionError(
        "no-index",
        'Table.loc looks rows up by the index, and this table has none: set one first, e.g. table.setIndex("origin").loc("SFO")',
      );
    }
    const labels = Array.isArray(label) ? [...label] : [label];
    return this.#with({ kind: "lookup", column: this.#index, values: labels }, this.#columns);
  }

  /** The rows sorted by `column` (missing values last), in one partition; stable. */
  sortBy(column: keyof R & string, options?: SortOptions): Table<R> {
    this.#checkColumn(column, "Table.sortBy");
    const descending = options?.descending ?? false;
    if (typeof descending !== "boolean") {
      throw new CollectionError(
        "invalid-argument",
        `Table.sortBy: descending must be true or false, got ${describeValue(descending)}`,
      );
    }
    const input = this.#flush();
    const sort: SortSpec = { input, column, descending };
    return new Table<R>(
      this.#client,
      sortPlan(sort, null, this.#columns),
      [],
      this.#columns,
      sort,
      this.#index,
    );
  }

  // ---------------------------------------------------------------------------------------
  // results

  count(): Scalar<number> {
    const plan = this.#treeReduce(COUNT_TAIL, [], SUM_COMBINE_TASK, []);
    return new Scalar<number>(this.#client, plan, (v) => v as number, "count");
  }

  /** The sum of a column's numbers (missing values skipped; 0 when none), like `df[col].sum()`. */
  sum(column: keyof R & string): Scalar<number> {
    return this.#columnAgg(column, "sum", "Table.sum") as Scalar<number>;
  }

  /** The mean of a column's numbers (missing values skipped; null when none). */
  mean(column: keyof R & string): Scalar<number | null> {
    return this.#columnAgg(column, "mean", "Table.mean") as Scalar<number | null>;
  }

  /** The smallest value of a column in the collections' order (missing skipped; null when none). */
  min<K extends keyof R & string>(column: K): Scalar<R[K] | null> {
    return this.#columnAgg(column, "min", "Table.min") as Scalar<R[K] | null>;
  }

  /** The largest value of a column in the collections' order (missing skipped; null when none). */
  max<K extends keyof R & string>(column: K): Scalar<R[K] | null> {
    return this.#columnAgg(column, "max", "Table.max") as Scalar<R[K] | null>;
  }

  /**
   * How often each value of `column` occurs, most frequent first (ties in the column's
   * order), missing values left out: a one-partition table of `{ [column], count }`, like
   * pandas' `value_counts()` (the count column is named "frequency" if `column` is "count").
   */
  valueCounts<K extends keyof R & string>(
    column: K,
  ): Table<{ [P in K]: R[K] } & { count: number }> {
    this.#checkColumn(column, "Table.valueCounts");
    const out = column === "count" ? "frequency" : "count";
    const counted = this.groupBy(column).agg({ [out]: [column, "count"] } as never) as Table;
    return counted.filter(hasCount, out).sortBy(out, { descending: true }) as never;
  }

  /** Count, mean, sample standard deviation, min and max of a numeric column. */
  describe(column: keyof R & string): Scalar<Description> {
    this.#checkColumn(column, "Table.describe");
    const plan = this.#treeReduce(DESCRIBE_TAIL, [column], DESCRIBE_COMBINE_TASK, []);
    return new Scalar<Description>(this.#client, plan, finishDescription, `describe ${column}`);
  }

  /** Runs the graph and returns the rows as records. */
  async compute(): Promise<R[]> {
    const run = new ClientRun(this.#client);
    const parts = (await run.values(run.builder.all(this.#flush()))) as TablePartition[];
    return parts.flatMap((part) => lbRows(part) as R[]);
  }

  /**
   * The first n rows. After sortBy, each partition sorts and keeps only its first n before
   * they are merged; otherwise partitions are read in order until n rows are found.
   */
  async head(n = 5): Promise<R[]> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new CollectionError(
        "invalid-argument",
        `Table.head needs a whole number of rows (0 or more), got ${describeValue(n)}`,
      );
    }
    const run = new ClientRun(this.#client);
    if (this.#sort && this.#ops.length === 0) {
      const [part] = await run.values([
        run.builder.partition(sortPlan(this.#sort, n, this.#columns), 0),
      ]);
      return lbRows(part as TablePartition) as R[];
    }
    const out: R[] = [];
    try {
      for (let i = 0; i < this.npartitions && out.length < n; i++) {
        const plan = this.#partitions(HEAD_TAIL, [n - out.length]);
        const [part] = await run.gather([run.builder.partition(plan, i)]);
        for (const row of lbRows(part as TablePartition)) out.push(row as R);
      }
    } finally {
      run.close();
    }
    return out;
  }

  /** Computes every partition and keeps it on the workers: a table backed by those results. */
  async persist(options?: PersistOptions): Promise<Table<R>> {
    const progress = parsePersistOptions(options);
    const run = new ClientRun(this.#client);
    const futures = await run.persist(this.#flush(), this.npartitions, progress);
    return new Table<R>(
      this.#client,
      { kind: "futures", futures },
      [],
      this.#columns,
      undefined,
      this.#index,
    );
  }

  /** @internal The graph (pending row steps fused into it), for tests. */
  get plan(): Plan {
    return this.#flush();
  }

  toString(): string {
    return `Table(columns=[${this.#columns.join(", ")}], npartitions=${this.npartitions})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------------------------------

  #with(op: RowOp, columns: readonly string[]): Table<R> {
    const opFn = (o: RowOp) => ("fn" in o ? o.fn : undefined);
    const boundary = needsModuleBoundary(this.#ops.map(opFn), opFn(op));
    return new Table<R>(
      this.#client,
      boundary ? this.#flush() : this.#base,
      boundary ? [op] : [...this.#ops, op],
      columns,
      undefined,
      this.#index,
    );
  }

  #columnAgg(column: string, op: Aggregation, where: string): Scalar<unknown> {
    this.#checkColumn(column, where);
    const aggs: [string, string, Aggregation][] = [["value", column, op]];
    const plan = this.#treeReduce(GROUP_AGG_TAIL, [[], aggs], GROUP_AGG_COMBINE_TASK, [[], aggs]);
    return new Scalar<unknown>(
      this.#client,
      plan,
      (v) => {
        const part = v as TablePartition;
        if (part.length === 0) return op === "sum" ? 0 : null;
        return part.values[0]![0];
      },
      `${op} ${column}`,
    );
  }

  #checkColumn(column: unknown, where: string): void {
    if (typeof column !== "string" || !this.#columns.includes(column)) {
      throw unknownColumn(column, this.#columns, where);
    }
  }

  #partitions(tail: TableTail, tailArgs: readonly unknown[]): Plan {
    return {
      kind: "partitions",
      input: this.#base,
      fn: tablePipelineTask(this.#ops, tail),
      args: [rowOpArgs(this.#ops), tailArgs],
    };
  }

  #flush(): Plan {
    this.#flushed ??=
      this.#ops.length === 0 ? this.#base : this.#partitions(TABLE_IDENTITY_TAIL, []);
    return this.#flushed;
  }

  #treeReduce(
    tail: TableTail,
    tailArgs: readonly unknown[],
    combine: TaskFunction,
    combineArgs: readonly unknown[],
  ): Plan {
    return {
      kind: "tree-reduce",
      input: this.#partitions(tail, tailArgs),
      combine,
      args: combineArgs,
      fanIn: DEFAULT_FAN_IN,
    };
  }
}

/** A table grouped by columns, waiting for `.agg({...})`. */
export class GroupedTable<R extends Row, G extends keyof R & string> {
  readonly #agg: (spec: unknown) => Table;

  /** @internal Made by `table.groupBy(columns)`. */
  constructor(agg: (spec: unknown) => Table) {
    this.#agg = agg;
  }

  /**
   * One row per group: the group columns, then one column per entry of `spec`,
   * `{ out: [column, "sum" | "mean" | "count" | "min" | "max"] }`. Missing values (null,
   * undefined, NaN) are skipped; count counts present values; mean/min/max of a group with
   * none is null. Rows come sorted by the group columns, in one partition.
   */
  agg<S extends AggSpecOf<R>>(spec: S): Table<Pick<R, G> & { [O in keyof S]: AggResult<R, S[O]> }> {
    return this.#agg(spec) as never;
  }
}

/** valueCounts' filter: groups of missing values count 0 present values. */
function hasCount(row: Record<string, unknown>, name: string): boolean {
  return (row[name] as number) > 0;
}

function sortPlan(sort: SortSpec, limit: number | null, columns: readonly string[]): Plan {
  const args = [sort.column, sort.descending, limit, [...columns]];
  return {
    kind: "tree-reduce",
    input: {
      kind: "partitions",
      input: sort.input,
      fn: tablePipelineTask([], SORT_TAIL),
      args: [[], args],
    },
    combine: SORT_COMBINE_TASK,
    args: [args],
    fanIn: DEFAULT_FAN_IN,
  };
}
