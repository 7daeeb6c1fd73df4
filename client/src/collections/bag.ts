/**
 * A Bag: an unordered-in-spirit, partitioned collection of items (like dask.bag), built
 * lazily into a task graph on top of `client.submit` and run by `compute()`.
 *
 *   const words = Bag.from(client, lines, { npartitions: 4 }).flatMap((l) => l.split(" "));
 *   await words.frequencies().topK(3, ([, n]) => n).compute();
 *
 * Element-wise steps (map, filter, flatMap) fuse into one task per partition, together
 * with whatever ends the partition (a fold, a shuffle split, take). Functions must be
 * self-contained, as for submit: pass values they need as extra arguments,
 * `bag.map((x, k) => x * k, 3)`.
 */
import type { Client } from "../client.js";
import type { Future } from "../futures/future.js";
import {
  DISTINCT_COMBINE_TASK,
  distinctTail,
  EXTREME_COMBINE_TASK,
  extremeTail,
  foldByCombineTask,
  foldByTail,
  foldCombineTask,
  foldTail,
  MERGE_GROUPS_TASK,
  PICK_TASK,
  PRODUCT_TASK,
  RANGE_TASK,
  reductionCombineTask,
  reductionTail,
  splitTail,
  TAKE_TAIL,
  TOPK_COMBINE_TASK,
  topKTail,
} from "./bag-tails.js";
import { ClientRun } from "./client-sink.js";
import { type PersistOptions, parsePersistOptions } from "./persist-options.js";
import type { TaskFunction } from "./compose.js";
import {
  checkClient,
  checkFutures,
  DEFAULT_FAN_IN,
  PartitionOptions,
  parseCollectionOptions,
  partitionCount,
  ReduceOptions,
  splitEvenly,
} from "./collection-options.js";
import {
  type ElementOp,
  type ElementOpKind,
  IDENTITY_TAIL,
  opArgs,
  pipelineTask,
  type Tail,
} from "./element-ops.js";
import {
  addNumbers,
  addSumsAndCounts,
  countItem,
  identity,
  pluckField,
  sumAndCount,
} from "./bag-builtins.js";
import { checkSources, textPlan } from "./data-sources.js";
import { CollectionError } from "./errors.js";
import { bindingModules, needsModuleBoundary } from "./module-steps.js";
import { npartitionsOf, type Plan } from "./plan.js";
import { Scalar } from "./scalar.js";
import { type Row, Table } from "./table.js";
import { checkColumnNames, FromFuturesOptions } from "./table-sources.js";
import { describeValue, userFunction } from "./user-function.js";

type Awaitable<T> = T | Promise<T>;

export interface GroupByOptions {
  /** Output partitions of the shuffle (default: as many as the input has). */
  npartitions?: number;
}

export class Bag<T> {
  readonly #client: Client;
  readonly #base: Plan;
  /** The plan of this collection's rows/items, made once (so a graph can share it). */
  #flushed: Plan | undefined;
  readonly #ops: readonly ElementOp[];

  private constructor(client: Client, base: Plan, ops: readonly ElementOp[]) {
    this.#client = client;
    this.#base = base;
    this.#ops = ops;
  }

  /** A bag of `items`, split into `npartitions` (default up to 16) contiguous partitions. */
  static from<T>(client: Client, items: Iterable<T>, options?: PartitionOptions): Bag<T> {
    const c = checkClient(client, "Bag.from");
    const parsed = parseCollectionOptions(PartitionOptions, options, "Bag.from options");
    if (items === null || typeof (items as Iterable<T>)?.[Symbol.iterator] !== "function") {
      throw new CollectionError(
        "invalid-argument",
        `Bag.from takes an array (or any iterable) of items, got ${describeValue(items)}`,
      );
    }
    const list = [...items];
    const n = partitionCount(list.length, parsed.npartitions);
    return new Bag<T>(c, { kind: "literal", partitions: splitEvenly(list, n) }, []);
  }

  /** The numbers 0 .. n-1, generated on the workers in `npartitions` ranges. */
  static range(client: Client, n: number, options?: PartitionOptions): Bag<number> {
    const c = checkClient(client, "Bag.range");
    const parsed = parseCollectionOptions(PartitionOptions, options, "Bag.range options");
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new CollectionError(
        "invalid-argument",
        `Bag.range needs a whole number of items (0 or more), got ${describeValue(n)}`,
      );
    }
    const parts = partitionCount(n, parsed.npartitions);
    const bounds: [number, number][] = [];
    const base = Math.floor(n / parts);
    const extra = n % parts;
    let start = 0;
    for (let i = 0; i < parts; i++) {
      const end = start + base + (i < extra ? 1 : 0);
      bounds.push([start, end]);
      start = end;
    }
    const literal: Plan = { kind: "literal", partitions: bounds };
    return new Bag<number>(c, { kind: "partitions", input: literal, fn: RANGE_TASK, args: [] }, []);
  }

  /** A bag whose partitions are the results of `futures` (each an array of items). */
  static fromFutures<T>(client: Client, futures: readonly Future<T[]>[]): Bag<T> {
    const c = checkClient(client, "Bag.fromFutures");
    checkFutures(futures, "Bag.fromFutures", "items");
    return new Bag<T>(c, { kind: "futures", futures: [...futures] }, []);
  }

  /**
   * A bag of the lines of text files, read ON THE WORKERS: `paths` is a path, an http(s)
   * URL or a glob ("logs/*.txt"), or an array of them; one partition per file, lines
   * without their line endings. Paths and URLs are read as for `Table.readCsv`.
   */
  static async readText(client: Client, paths: string | readonly string[]): Promise<Bag<string>> {
    const c = checkClient(client, "Bag.readText");
    const sources = checkSources(paths, "Bag.readText");
    return new Bag<string>(c, await textPlan(c, sources), []);
  }

  get client(): Client {
    return this.#client;
  }

  get npartitions(): number {
    return npartitionsOf(this.#base);
  }

  // ---------------------------------------------------------------------------------------
  // element-wise (fused into one task per partition)

  /** fn(item, ...args) for every item. */
  map<R, A extends unknown[]>(fn: (item: T, ...args: A) => Awaitable<R>, ...args: A): Bag<R> {
    return this.#withOp<R>("map", fn, args, "Bag.map");
  }

  /** The items for which fn(item, ...args) is truthy. */
  filter<A extends unknown[]>(fn: (item: T, ...args: A) => Awaitable<unknown>, ...args: A): Bag<T> {
    return this.#withOp<T>("filter", fn, args, "Bag.filter");
  }

  /** The items of every iterable fn(item, ...args) returns, flattened. */
  flatMap<R, A extends unknown[]>(
    fn: (item: T, ...args: A) => Awaitable<Iterable<R>>,
    ...args: A
  ): Bag<R> {
    return this.#withOp<R>("flatMap", fn, args, "Bag.flatMap");
  }

  /** item[field] for every item (e.g. a field of JSON records). */
  pluck<K extends keyof T>(field: K): Bag<T[K]> {
    if (typeof field !== "string" && typeof field !== "number") {
      throw new CollectionError(
        "invalid-argument",
        `Bag.pluck takes a field name or index, got ${describeValue(field)}`,
      );
    }
    return this.map(pluckField, field as string | number) as unknown as Bag<T[K]>;
  }

  // ---------------------------------------------------------------------------------------
  // structure

  /** Every pair [a, b] of an item of this bag and an item of `other` (nA × nB partitions). */
  product<U>(other: Bag<U>): Bag<[T, U]> {
    const right = this.#sameClient(other, "Bag.product");
    return new Bag<[T, U]>(
      this.#client,
      { kind: "product", left: this.#flush(), right, fn: PRODUCT_TASK },
      [],
    );
  }

  /**
   * Groups items by key with a shuffle across partitions: [key, items[]] per key. Each
   * partition is split by hash of key; each output partition gathers its bucket from every
   * input partition, worker to worker. Keys should be primitives or JSON-like values.
   */
  groupBy<K>(key: (item: T) => Awaitable<K>, options?: GroupByOptions): Bag<[K, T[]]> {
    const keyFn = userFunction(key, "Bag.groupBy");
    const parsed = parseCollectionOptions(PartitionOptions, options, "Bag.groupBy options");
    const nOut = parsed.npartitions ?? this.npartitions;
    const split = this.#partitions(splitTail(keyFn), [nOut]);
    return new Bag<[K, T[]]>(
      this.#client,
      {
        kind: "shuffle",
        input: split,
        npartitions: nOut,
        pick: PICK_TASK,
        merge: MERGE_GROUPS_TASK,
        args: [],
      },
      [],
    );
  }

  // ---------------------------------------------------------------------------------------
  // reductions (tree reductions, `splitEvery` partials per combine task)

  /**
   * Folds every partition with binop from `initial` (used once per partition, so it should
   * be neutral: 0 for sums, [] for lists), then combines the partial results with
   * `combine` (default: binop).
   */
  fold<A>(
    binop: (acc: A, item: T) => Awaitable<A>,
    initial: A,
    combine?: (a: A, b: A) => Awaitable<A>,
    options?: ReduceOptions,
  ): Scalar<A> {
    const bin = userFunction(binop, "Bag.fold");
    const comb = combine === undefined ? bin : userFunction(combine, "Bag.fold (combine)");
    return this.#fold<A>(bin, comb, [true, initial], options, "fold");
  }

  /** Like Array.prototype.reduce without an initial value; an empty bag is an error. */
  reduce(binop: (a: T, b: T) => Awaitable<T>, options?: ReduceOptions): Scalar<T> {
    const bin = userFunction(binop, "Bag.reduce");
    return this.#fold<T>(bin, bin, [false], options, "reduce");
  }

  /** perPartition(items) on every partition, then aggregate(partials) up a tree. */
  reduction<P, R>(
    perPartition: (items: T[]) => Awaitable<P>,
    aggregate: (partials: (P | R)[]) => Awaitable<R>,
    options?: ReduceOptions,
  ): Scalar<R> {
    const per = userFunction(perPartition, "Bag.reduction");
    const agg = userFunction(aggregate, "Bag.reduction (aggregate)");
    const plan = this.#treeReduce(reductionTail(per), [], reductionCombineTask(agg), [], options);
    return new Scalar<R>(this.#client, plan, (v) => v as R, "reduction");
  }

  count(): Scalar<number> {
    return this.#fold<number>(
      userFunction(countItem, "Bag.count"),
      userFunction(addNumbers, "Bag.count"),
      [true, 0],
      undefined,
      "count",
    );
  }

  sum(this: Bag<number>): Scalar<number> {
    const add = userFunction(addNumbers, "Bag.sum");
    return this.#fold<number>(add, add, [true, 0], undefined, "sum");
  }

  /**
   * The smallest item (by `key(item)` when given, like Python's min(items, key=...)), in
   * the collections' order (numbers by value, strings by code point, arrays element by
   * element like Python tuples; missing values skipped; values of kinds that have no order
   * between them fail with code "unorderable-values"). The first of equal items.
   */
  min(key?: (item: T) => Awaitable<unknown>): Scalar<T> {
    return this.#extreme(false, key);
  }

  /** The largest item (by `key(item)` when given), in the same order as min(). */
  max(key?: (item: T) => Awaitable<unknown>): Scalar<T> {
    return this.#extreme(true, key);
  }

  mean(this: Bag<number>): Scalar<number> {
    const plan = this.#treeReduce(
      reductionTail(userFunction(sumAndCount, "Bag.mean")),
      [],
      reductionCombineTask(userFunction(addSumsAndCounts, "Bag.mean")),
      [],
      undefined,
    );
    return new Scalar<number>(
      this.#client,
      plan,
      (v) => {
        const [total, n] = v as [number, number];
        if (n === 0) throw emptyError("mean");
        return total / n;
      },
      "mean",
    );
  }

  /**
   * Per key, folds the items with binop from a copy of `initial`, then combines the
   * per-partition results with `combine` (default binop): a bag of [key, acc].
   */
  foldBy<K, A>(
    key: (item: T) => Awaitable<K>,
    binop: (acc: A, item: T) => Awaitable<A>,
    initial: A,
    combine?: (a: A, b: A) => Awaitable<A>,
    options?: ReduceOptions,
  ): Bag<[K, A]> {
    const keyFn = userFunction(key, "Bag.foldBy");
    const bin = userFunction(binop, "Bag.foldBy (binop)");
    const comb = combine === undefined ? bin : userFunction(combine, "Bag.foldBy (combine)");
    const plan = this.#treeReduce(
      foldByTail(keyFn, bin),
      [initial],
      foldByCombineTask(comb),
      [],
      options,
    );
    return new Bag<[K, A]>(this.#client, plan, []);
  }

  /** How often each distinct item occurs: a bag of [item, count]. */
  frequencies(): Bag<[T, number]> {
    return this.foldBy<T, number>(
      identity as (item: T) => T,
      countItem as (n: number, item: T) => number,
      0,
      addNumbers,
    );
  }

  /** The distinct items (by `key`, keeping the first item per key, when given). */
  distinct(key?: (item: T) => Awaitable<unknown>): Bag<T> {
    const keyFn = key === undefined ? undefined : userFunction(key, "Bag.distinct");
    return new Bag<T>(
      this.#client,
      this.#treeReduce(distinctTail(keyFn), [], DISTINCT_COMBINE_TASK, [], undefined),
      [],
    );
  }

  /** The n largest items (by `key` when given), largest first, in one partition. */
  topK(n: number, key?: (item: T) => Awaitable<unknown>): Bag<T> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new CollectionError(
        "invalid-argument",
        `Bag.topK needs a whole number of items to keep (0 or more), got ${describeValue(n)}`,
      );
    }
    const keyFn = key === undefined ? undefined : userFunction(key, "Bag.topK");
    return new Bag<T>(
      this.#client,
      this.#treeReduce(topKTail(keyFn), [n], TOPK_COMBINE_TASK, [n], undefined),
      [],
    );
  }

  // ---------------------------------------------------------------------------------------
  // running

  /** Runs the graph and returns every item, partition by partition. */
  async compute(): Promise<T[]> {
    const run = new ClientRun(this.#client);
    const plan = this.#flush();
    const parts = await run.values(run.builder.all(plan));
    return (parts as T[][]).flat();
  }

  /**
   * The first n items: computes partition 0, then 1, ... only until it has n (only the
   * first n items of each partition travel back).
   */
  async take(n: number): Promise<T[]> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new CollectionError(
        "invalid-argument",
        `Bag.take needs a whole number of items (0 or more), got ${describeValue(n)}`,
      );
    }
    const out: T[] = [];
    const run = new ClientRun(this.#client);
    try {
      for (let i = 0; i < this.npartitions && out.length < n; i++) {
        const plan = this.#partitions(TAKE_TAIL, [n - out.length]);
        const [part] = await run.gather([run.builder.partition(plan, i)]);
        for (const item of part as T[]) out.push(item);
      }
    } finally {
      run.close();
    }
    return out;
  }

  /** Computes every partition and keeps it on the workers: a bag backed by those results. */
  async persist(options?: PersistOptions): Promise<Bag<T>> {
    const progress = parsePersistOptions(options);
    const run = new ClientRun(this.#client);
    const futures = await run.persist(this.#flush(), this.npartitions, progress);
    return new Bag<T>(this.#client, { kind: "futures", futures }, []);
  }

  /**
   * A Table of this bag's items, which must be records (plain objects). With
   * `options.columns` the table is lazy; without, the bag is computed and kept on the
   * workers (like persist()) and the columns are every key of the records in first-seen
   * order, as `Table.fromRecords` takes them.
   */
  async toTable<R extends Row = T extends Row ? T : Record<string, unknown>>(
    options?: FromFuturesOptions,
  ): Promise<Table<R>> {
    const parsed = parseCollectionOptions(FromFuturesOptions, options, "Bag.toTable options");
    if (parsed.columns) {
      const columns = checkColumnNames(parsed.columns, "Bag.toTable columns");
      return Table.fromRecordPartitions<R>(this.#client, this.#flush(), columns);
    }
    const persisted = await this.persist();
    const futures = (persisted.#base as Extract<Plan, { kind: "futures" }>).futures;
    return Table.fromFutures(futures as Future<R[]>[]);
  }

  /** @internal The graph (pending element ops fused into it), for tests. */
  get plan(): Plan {
    return this.#flush();
  }

  toString(): string {
    return `Bag(npartitions=${this.npartitions})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------------------------------

  #withOp<R>(kind: ElementOpKind, fn: unknown, args: unknown[], where: string): Bag<R> {
    const call = `bag.${kind}((item, $V) => ..., $V)`;
    const op: ElementOp = { kind, fn: userFunction(fn, where, call), args };
    if (
      needsModuleBoundary(
        this.#ops.map((o) => o.fn),
        op.fn,
      )
    ) {
      return new Bag<R>(this.#client, this.#flush(), [op]);
    }
    return new Bag<R>(this.#client, this.#base, [...this.#ops, op]);
  }

  /** This bag's partitions ending in `tail` (pending ops fused in). */
  #partitions(tail: Tail, tailArgs: readonly unknown[]): Plan {
    // A tail using another module's functions than the pending ops runs as its own task.
    const [module] = bindingModules(tail.bindings);
    const boundary =
      module !== undefined && this.#ops.some((op) => op.fn.module && op.fn.module.hash !== module);
    const ops = boundary ? [] : this.#ops;
    return {
      kind: "partitions",
      input: boundary ? this.#flush() : this.#base,
      fn: pipelineTask("bag", ops, tail),
      args: [opArgs(ops), tailArgs],
    };
  }

  /** The plan of this bag's items (no tasks when there is nothing pending). */
  #flush(): Plan {
    this.#flushed ??= this.#ops.length === 0 ? this.#base : this.#partitions(IDENTITY_TAIL, []);
    return this.#flushed;
  }

  #treeReduce(
    tail: Tail,
    tailArgs: readonly unknown[],
    combine: TaskFunction,
    combineArgs: readonly unknown[],
    options: ReduceOptions | undefined,
  ): Plan {
    const parsed = parseCollectionOptions(ReduceOptions, options, "reduction options");
    return {
      kind: "tree-reduce",
      input: this.#partitions(tail, tailArgs),
      combine,
      args: combineArgs,
      fanIn: parsed.splitEvery ?? DEFAULT_FAN_IN,
    };
  }

  #fold<A>(
    binop: ReturnType<typeof userFunction>,
    combine: ReturnType<typeof userFunction>,
    initial: [true, unknown] | [false],
    options: ReduceOptions | undefined,
    what: string,
  ): Scalar<A> {
    const plan = this.#treeReduce(foldTail(binop), initial, foldCombineTask(combine), [], options);
    return new Scalar<A>(
      this.#client,
      plan,
      (v) => {
        const partial = v as [boolean, A?];
        if (!partial[0]) throw emptyError(what);
        return partial[1] as A;
      },
      what,
    );
  }

  #extreme(descending: boolean, key: unknown): Scalar<T> {
    const what = descending ? "max" : "min";
    const keyFn = key === undefined ? undefined : userFunction(key, `Bag.${what}`);
    const plan = this.#treeReduce(
      extremeTail(descending, keyFn),
      [descending],
      EXTREME_COMBINE_TASK,
      [descending],
      undefined,
    );
    return new Scalar<T>(
      this.#client,
      plan,
      (v) => {
        const partial = v as [boolean, T?];
        if (!partial[0]) throw emptyError(what);
        return partial[1] as T;
      },
      what,
    );
  }

  #sameClient<U>(other: Bag<U>, where: string): Plan {
    if (!(other instanceof Bag)) {
      throw new CollectionError(
        "invalid-argument",
        `${where} takes another Bag, got ${describeValue(other)}`,
      );
    }
    if (other.#client !== this.#client) {
      throw new CollectionError(
        "different-clients",
        `${where}: the two bags were made with different clients; build both with the same client`,
      );
    }
    return other.#flush();
  }
}

function emptyError(what: string): CollectionError {
  return new CollectionError(
    "empty-collection",
    `${what}() of an empty bag has no value: filter less, or use fold(binop, initial) with an initial value`,
  );
}
