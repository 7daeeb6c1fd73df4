/**
 * The user-facing client: submit functions, hold futures, gather results.
 *
 *   const client = await Client.connect();          // LAUNCHBAY_SCHEDULER / LAUNCHBAY_TOKEN
 *   const f = client.submit((a, b) => a + b, 1, 2);  // Future<number>, at once
 *   await f.result();                                // 3
 */
import {
  DataClient,
  encodeArgs,
  type InfoReply,
  serializeValue,
  ValueEncodingError,
} from "@launchbay/protocol";
import type { z } from "zod";
import { announceDashboard, dashboardUrl } from "./dashboard-link.js";
import { LaunchbayError, TimeoutError } from "./errors.js";
import { AsCompleted } from "./futures/as-completed.js";
import { Future, type FutureOwner, releasedError } from "./futures/future.js";
import type { KeyState } from "./futures/key-state.js";
import { KeyTable } from "./futures/key-table.js";
import { collectFutures, type Gathered, replaceFutures } from "./futures/nested-futures.js";
import { type WaitOptions, type WaitResult, waitFor } from "./futures/wait.js";
import { bundleModule } from "./modules/bundle-module.js";
import { RemoteModule } from "./modules/remote-module.js";
import {
  ConnectOptions,
  MapOptions,
  parseOptions,
  RestartOptions,
  ScatterOptions,
  SubmitOptions,
  workerList,
} from "./options.js";
import { fetchValues } from "./results/fetch-results.js";
import { resolveSchedulerAddress } from "./scheduler-address.js";
import { type Incoming, type Outgoing, SchedulerLink } from "./scheduler-link.js";
import { CodeHoldings } from "./shipping/code-holdings.js";
import { type ShippedFunction, shipFunction } from "./shipping/shipped-function.js";
import { withHelpers } from "./shipping/with-helpers.js";
import { contentKey, pureKey, randomKey } from "./task-keys.js";
import { decodeValue, encodePrimitiveArgs } from "./values/primitive-values.js";

/** A value, or a future of it; arrays and plain objects may hold futures at any depth. */
export type MaybeFuture<T> =
  | T
  | Future<T>
  | (T extends readonly unknown[]
      ? { [K in keyof T]: MaybeFuture<T[K]> }
      : T extends { [key: string]: unknown }
        ? { [K in keyof T]: MaybeFuture<T[K]> }
        : never);

/** A function's parameters, each of which may be given as a future. */
export type FutureArgs<A extends readonly unknown[]> = { [K in keyof A]: MaybeFuture<A[K]> };

export type ClientInfo = Omit<z.infer<typeof InfoReply>, "type" | "requestId">;

export interface UploadModuleOptions {
  /** Path of the module's entry file (TypeScript or JavaScript), relative to `cwd`. */
  path: string;
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
}

interface TaskOptions {
  key: string | undefined;
  pure: boolean;
  priority: number | undefined;
  retries: number | undefined;
  workers: string[] | undefined;
  allowOtherWorkers: boolean | undefined;
  resources: Record<string, number> | undefined;
}

const DEFAULT_TASK_OPTIONS: TaskOptions = {
  key: undefined,
  pure: false,
  priority: undefined,
  retries: undefined,
  workers: undefined,
  allowOtherWorkers: undefined,
  resources: undefined,
};

export class Client implements FutureOwner {
  readonly #link: SchedulerLink;
  readonly #table: KeyTable;
  readonly #peers: DataClient;
  readonly #registry = new FinalizationRegistry<KeyState>((state) => this.#table.decref(state));
  /** Functions and modules held at the scheduler; released with the last key that uses them. */
  readonly #code: CodeHoldings;
  readonly #moduleRegistry = new FinalizationRegistry<string>((hash) => {
    if (!this.#closed) this.#code.unpinModule(hash);
  });
  readonly #keyOf = (value: object): string | undefined =>
    value instanceof Future ? this.#dependencyKey(value) : undefined;
  #closed = false;
  #releaseScheduled = false;
  #dashboardUrl = "";

  private constructor(
    address: string,
    token: string | undefined,
    name: string | undefined,
    timeoutMs: number,
  ) {
    this.#table = new KeyTable(
      () => this.#scheduleReleases(),
      (state) => this.#code.forget(state),
    );
    this.#code = new CodeHoldings({
      defineFunction: (shipped) => this.#link.send(shipped.definition),
      putModule: (module) =>
        this.#link.send({
          type: "put-module",
          hash: module.hash,
          name: module.name,
          code: module.code,
        }),
      onReleasePending: () => this.#scheduleReleases(),
    });
    this.#peers = new DataClient({
      token,
      connectTimeoutMs: timeoutMs,
      closeReason: "client closed",
    });
    this.#link = new SchedulerLink(
      address,
      { token, name, timeoutMs },
      {
        onMessages: (messages) => this.#receive(messages),
        onSessionLost: (error) => this.#sessionLost(error),
      },
    );
  }

  /**
   * Connects to a scheduler. `address` defaults to `LAUNCHBAY_SCHEDULER`, the token to
   * `LAUNCHBAY_TOKEN`. Rejects with a `connect-failed` error that says what went wrong.
   */
  static async connect(address?: string, options: ConnectOptions = {}): Promise<Client> {
    const parsed = parseOptions(ConnectOptions, options, "Client.connect options");
    const url = resolveSchedulerAddress(address);
    const token = parsed.token || process.env.LAUNCHBAY_TOKEN || undefined;
    const client = new Client(url, token, parsed.name, parsed.timeoutMs ?? 10_000);
    try {
      await client.#link.start();
    } catch (error) {
      throw new LaunchbayError("connect-failed", (error as Error).message, { cause: error });
    }
    client.#dashboardUrl = dashboardUrl(url, token);
    if (parsed.showDashboard !== false) announceDashboard(client.#dashboardUrl);
    return client;
  }

  static readonly #shared = new Map<string, Promise<Client>>();

  /**
   * The process's client for this scheduler: the first call connects (like
   * `Client.connect`), later calls with the same address and token return the same
   * client while it is open, so re-running a notebook's first cell (or several modules of
   * one program) share one connection and keep each other's futures alive. A closed or
   * failed one is replaced on the next call. Each notebook kernel is its own process, so
   * two open notebooks are two clients (see client/README.md, "One connection per kernel").
   */
  static shared(address?: string, options: ConnectOptions = {}): Promise<Client> {
    const parsed = parseOptions(ConnectOptions, options, "Client.shared options");
    const url = resolveSchedulerAddress(address);
    const token = parsed.token || process.env.LAUNCHBAY_TOKEN || "";
    const id = `${url} ${token}`;
    const existing = Client.#shared.get(id);
    const connect = () => Client.connect(url, parsed);
    // Chained on the previous one, so concurrent callers wait for the same connection.
    const next = existing
      ? existing.then((client) => (client.#closed ? connect() : client), connect)
      : connect();
    Client.#shared.set(id, next);
    return next;
  }

  /**
   * Where to open the scheduler's dashboard: `LAUNCHBAY_DASHBOARD_URL` in a sandbox (a path
   * on the notebook's site), else the scheduler's `/dashboard/` (with `?token=` on loopback).
   */
  get dashboardUrl(): string {
    return this.#dashboardUrl;
  }

  /** The scheduler's WebSocket address. */
  get address(): string {
    return this.#link.address;
  }

  /** This client's id at the scheduler (changes when it reconnects). */
  get id(): string {
    return this.#link.clientId;
  }

  get schedulerId(): string {
    return this.#link.schedulerId;
  }

  /** False while the scheduler connection is down (it redials in the background). */
  get connected(): boolean {
    return this.#link.connected;
  }

  /** Keys this client currently holds futures for. */
  get heldKeys(): number {
    return this.#table.size;
  }

  /** Whether this client holds a future for `key` (not yet released). */
  holds(key: string): boolean {
    return this.#table.get(key) !== undefined;
  }

  /** Resolves once connected (at once if connected now); useful after a scheduler restart. */
  whenConnected(): Promise<void> {
    return this.#link.whenConnected();
  }

  /**
   * Runs `fn(...args)` on a worker; returns at once. Futures among the arguments (also
   * nested in arrays and plain objects) are replaced by their values on the worker.
   */
  submit<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    ...args: FutureArgs<A>
  ): Future<Awaited<R>> {
    return this.#submit(shipFunction(fn), args, DEFAULT_TASK_OPTIONS) as Future<Awaited<R>>;
  }

  /** `submit` with options: retries, priority, key, pure, resources, workers, allowOtherWorkers. */
  submitWith<A extends unknown[], R>(
    options: SubmitOptions,
    fn: (...args: A) => R | Promise<R>,
    ...args: FutureArgs<A>
  ): Future<Awaited<R>> {
    const parsed = parseOptions(SubmitOptions, options, "submit options");
    const shipped = shipFunction(parsed.uses ? withHelpers(fn, parsed.uses) : fn);
    return this.#submit(shipped, args, {
      ...taskOptions(parsed),
      key: parsed.key,
    }) as Future<Awaited<R>>;
  }

  /** One task per item: `fn(item)`. The function is analysed once. */
  map<T, R>(
    fn: (item: T) => R | Promise<R>,
    items: Iterable<MaybeFuture<T>>,
    options?: MapOptions,
  ): Future<Awaited<R>>[] {
    const parsed =
      options === undefined ? undefined : parseOptions(MapOptions, options, "map options");
    const shipped = shipFunction(parsed?.uses ? withHelpers(fn, parsed.uses) : fn);
    const list = Array.isArray(items) ? items : [...items];
    if (parsed?.keys && parsed.keys.length !== list.length) {
      throw new LaunchbayError(
        "invalid-option",
        `map options.keys has ${parsed.keys.length} keys for ${list.length} items: give exactly one key per item`,
      );
    }
    const base = parsed ? taskOptions(parsed) : DEFAULT_TASK_OPTIONS;
    const futures: Future<Awaited<R>>[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const opts = parsed?.keys ? { ...base, key: parsed.keys[i] } : base;
      futures[i] = this.#submit(shipped, [list[i]], opts) as Future<Awaited<R>>;
    }
    return futures;
  }

  /**
   * Sends values to the workers ahead of time. An array gives one future per value,
   * resolved once stored (`await client.scatter([a, b])`); a single value gives its
   * future at once (`client.scatter(a)`, not awaited: awaiting a future gives its value).
   * By default keys come from the content, so the same value is stored once.
   */
  scatter<T>(values: readonly T[], options?: ScatterOptions): Promise<Future<T>[]>;
  scatter<T>(value: T, options?: ScatterOptions): Future<T>;
  scatter<T>(values: T | readonly T[], options?: ScatterOptions): Promise<Future<T>[]> | Future<T> {
    if (!Array.isArray(values)) return this.#scatter<T>([values as T], options)[0]!;
    let futures: Future<T>[];
    try {
      futures = this.#scatter<T>(values as readonly T[], options);
    } catch (error) {
      return Promise.reject(error);
    }
    return (async () => {
      await Promise.all(futures.map((f) => Future.stateOf(f).whenDone()));
      for (const future of futures) {
        const state = Future.stateOf(future);
        if (state.status !== "finished") throw state.error;
      }
      return futures;
    })();
  }

  #scatter<T>(values: readonly T[], options: ScatterOptions | undefined): Future<T>[] {
    this.#assertOpen();
    const parsed = parseOptions(ScatterOptions, options, "scatter options");
    const items: { key: string; data: Uint8Array }[] = [];
    const futures = values.map((value, i) => {
      const what = values.length === 1 ? "the scattered value" : `scattered value ${i}`;
      const data = this.#serialize(value, what);
      const key = parsed.hash === false ? randomKey("scatter") : contentKey("scatter", data);
      let state = this.#table.get(key);
      if (!state) {
        state = this.#table.create(key, this.#link.session);
        items.push({ key, data });
      }
      return this.#future<T>(state);
    });
    if (items.length > 0) {
      const workers = workerList(parsed.workers);
      this.#link.send({
        type: "scatter",
        items,
        broadcast: parsed.broadcast ?? false,
        ...(workers ? { workers } : {}),
      });
    }
    return futures;
  }

  /**
   * The values of futures, in the same shape: a future, an array or a plain object holding
   * futures at any depth. Large results come straight from the workers holding them.
   * Rejects with the first error among them.
   */
  async gather<T>(futures: T): Promise<Gathered<T>> {
    const found = collectFutures(futures);
    const states = found.map((f) => Future.stateOf(f));
    await allDone(states);
    for (let i = 0; i < found.length; i++) {
      const state = states[i]!;
      if (state.status !== "finished") throw state.error;
      if (!Future.isHeld(found[i]!)) throw releasedError(state.key);
    }
    const values = await fetchValues(states, this.#whoHasSource, this.#peers);
    const byFuture = new Map<Future<unknown>, unknown>();
    for (let i = 0; i < found.length; i++) byFuture.set(found[i]!, values[i]);
    return replaceFutures(futures, byFuture) as Gathered<T>;
  }

  /** Waits until all (or, with returnWhen "FIRST_COMPLETED", any) of the futures are done. */
  wait<T>(futures: readonly Future<T>[], options?: WaitOptions): Promise<WaitResult<T>> {
    return waitFor(futures, options);
  }

  /** Iterates over futures as they complete; `withResults` yields `[future, value]`. */
  asCompleted<T>(futures: Iterable<Future<T>>): AsCompleted<T, Future<T>>;
  asCompleted<T>(
    futures: Iterable<Future<T>>,
    options: { withResults: true },
  ): AsCompleted<T, [Future<T>, T]>;
  asCompleted<T>(
    futures: Iterable<Future<T>>,
    options?: { withResults?: boolean },
  ): AsCompleted<T, unknown>;
  asCompleted<T>(
    futures: Iterable<Future<T>>,
    options?: { withResults?: boolean },
  ): AsCompleted<T, unknown> {
    return new AsCompleted<T, unknown>(futures, options?.withResults === true);
  }

  /** Cancels tasks for this client: their futures become "cancelled" and `result()` rejects. */
  cancel(futures: Future<unknown> | readonly Future<unknown>[]): void {
    const list = futures instanceof Future ? [futures] : futures;
    this.cancelStates(list.map((f) => Future.stateOf(f)));
  }

  /** Workers and task counts by state, from the scheduler. */
  async info(): Promise<ClientInfo> {
    this.#assertOpen();
    const reply = await this.#link.request({ type: "info" });
    return { schedulerId: reply.schedulerId, workers: reply.workers, tasks: reply.tasks };
  }

  /**
   * Restarts the cluster, like Dask's `Client.restart()`: every worker drops its results
   * and running tasks and registers again, every task is released, and this resolves with
   * the number of workers once each worker of before is back. Futures held before (by any
   * client) become lost: `result()` rejects with a FutureLostError saying the cluster was
   * restarted. A worker that died meanwhile never comes back: after `timeoutMs` (default
   * 60 s) this rejects with a TimeoutError (the restart itself has happened).
   */
  async restart(options: RestartOptions = {}): Promise<number> {
    this.#assertOpen();
    const { timeoutMs = 60_000 } = parseOptions(RestartOptions, options, "restart options");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TimeoutError(
              `the workers were not all back ${timeoutMs} ms after restart(): check client.info() ` +
                "for the workers registered now (one that died does not come back by itself)",
            ),
          ),
        timeoutMs,
      );
    });
    const reply = this.#link.request({ type: "restart" });
    return Promise.race([reply, deadline])
      .then((r) => r.workers)
      .finally(() => clearTimeout(timer));
  }

  /**
   * Bundles a TypeScript/JavaScript module (and its imports) with esbuild and uploads it
   * once (content-addressed). Pass its functions to submit/map: `mod.fn("slowAdd")`, or
   * typed: `(await client.uploadModule<typeof import("./helpers.js")>("./helpers.ts")).functions.slowAdd`.
   */
  async uploadModule<M = Record<string, (...args: never[]) => unknown>>(
    pathOrOptions: string | UploadModuleOptions,
  ): Promise<RemoteModule<M>> {
    this.#assertOpen();
    const options = typeof pathOrOptions === "string" ? { path: pathOrOptions } : pathOrOptions;
    if (typeof options?.path !== "string" || options.path === "") {
      throw new LaunchbayError(
        "invalid-option",
        'uploadModule needs the path of a .ts or .js file: client.uploadModule("./helpers.ts")',
      );
    }
    const bundle = await bundleModule(options.path, options.cwd);
    const module = new RemoteModule<M>(bundle);
    this.#assertOpen();
    this.#code.pinModule(module.ref);
    this.#moduleRegistry.register(module, module.hash);
    return module;
  }

  /** Closes the connection; unfinished futures reject with a client-closed error. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#table.endSession(
      new LaunchbayError(
        "client-closed",
        "the client was closed: connect a new one with Client.connect()",
      ),
    );
    this.#link.close();
    this.#peers.close();
  }

  // -------------------------------------------------------------------------------------
  // FutureOwner

  /** @internal */
  async resultOf(state: KeyState): Promise<unknown> {
    if (!state.done) await state.whenDone();
    if (state.status !== "finished") throw state.error;
    if (state.data !== undefined) return decodeValue(state.data);
    if (!state.attached) throw state.sessionError ?? releasedError(state.key);
    const [value] = await fetchValues([state], this.#whoHasSource, this.#peers);
    return value;
  }

  /** @internal */
  cancelStates(states: KeyState[]): void {
    const keys = this.#table.cancel(states);
    if (keys.length > 0 && !this.#closed) this.#link.send({ type: "cancel-keys", keys });
  }

  /** @internal */
  dropFuture(future: Future<unknown>, state: KeyState): void {
    this.#registry.unregister(future);
    this.#table.decref(state);
  }

  // -------------------------------------------------------------------------------------

  #submit(
    shipped: ShippedFunction,
    args: readonly unknown[],
    options: TaskOptions,
  ): Future<unknown> {
    this.#assertOpen();
    const encoded = this.#encodeArgs(shipped, args);
    const key =
      options.key ??
      (options.pure
        ? pureKey(shipped.keyPrefix, shipped.id, encoded.bytes)
        : randomKey(shipped.keyPrefix));
    const existing = this.#table.get(key);
    if (existing) return this.#future(existing);
    const state = this.#table.create(key, this.#link.session);
    this.#code.use(state, shipped);
    const message: Outgoing = {
      type: "submit-task",
      key,
      fn: shipped.id,
      args: encoded.bytes,
      deps: encoded.deps,
    };
    if (options.priority !== undefined) message.priority = options.priority;
    if (options.retries !== undefined) message.retries = options.retries;
    if (options.workers !== undefined) message.workers = options.workers;
    if (options.allowOtherWorkers !== undefined)
      message.allowOtherWorkers = options.allowOtherWorkers;
    if (options.resources !== undefined) message.resources = options.resources;
    this.#link.send(message);
    return this.#future(state);
  }

  /** Argument bytes and dependency keys; primitive-only lists take the fast path. */
  #encodeArgs(
    shipped: ShippedFunction,
    args: readonly unknown[],
  ): { bytes: Uint8Array; deps: string[] } {
    const primitive = encodePrimitiveArgs(args);
    if (primitive) return { bytes: primitive, deps: [] };
    try {
      return encodeArgs(args, this.#keyOf);
    } catch (error) {
      if (!(error instanceof ValueEncodingError)) throw error;
      const message = error.message.replace(
        /^an argument/,
        `an argument of ${shipped.definition.name}`,
      );
      throw new LaunchbayError("not-serializable", message, { cause: error });
    }
  }

  #future<T>(state: KeyState): Future<T> {
    const future = new Future<T>(state, this);
    this.#registry.register(future, state, future);
    return future;
  }

  #dependencyKey(future: Future<unknown>): string {
    const state = Future.stateOf(future);
    if (Future.ownerOf(future) !== this) {
      throw new LaunchbayError(
        "invalid-option",
        `future ${state.key} belongs to another client: pass futures only to the client that created them`,
      );
    }
    if (!Future.isHeld(future)) throw releasedError(state.key);
    if (!state.attached) {
      if (state.status === "cancelled" || state.status === "lost") throw state.error;
      throw state.sessionError ?? releasedError(state.key);
    }
    return state.key;
  }

  #serialize(value: unknown, what: string): Uint8Array {
    try {
      return serializeValue(value, what);
    } catch (error) {
      if (error instanceof ValueEncodingError)
        throw new LaunchbayError("not-serializable", error.message, { cause: error });
      throw error;
    }
  }

  readonly #whoHasSource = {
    whoHas: async (keys: string[]) => (await this.#link.request({ type: "who-has", keys })).who,
  };

  #scheduleReleases(): void {
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      const keys = this.#table.takeReleases();
      if (keys.length > 0 && !this.#closed) this.#link.send({ type: "release-keys", keys });
      const code = this.#code.takeReleases();
      if (code && !this.#closed) this.#link.send({ type: "release-code", ...code });
    }).unref();
  }

  #receive(messages: Incoming[]): void {
    for (const message of messages) {
      switch (message.type) {
        case "key-in-memory":
          this.#table.inMemory(message.key, message.nbytes, message.data);
          break;
        case "task-erred": {
          const { code, name } = message.error;
          // The scheduler did not have the function (refused, or unknown): send it again next time.
          const state = this.#table.get(message.key);
          if (
            state &&
            (code === "code-budget" || (code === "function-error" && name === "FunctionError"))
          )
            this.#code.resend(state);
          this.#table.erred(message.key, message.error);
          break;
        }
        case "key-lost":
          this.#table.lost(message.key, message.code, message.message);
          break;
        default:
          break;
      }
    }
  }

  #sessionLost(error: LaunchbayError): void {
    this.#table.endSession(error);
    this.#code.endSession();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new LaunchbayError(
        "client-closed",
        "the client is closed: connect a new one with Client.connect()",
      );
    }
  }
}

function taskOptions(
  parsed: z.output<typeof SubmitOptions> | z.output<typeof MapOptions>,
): TaskOptions {
  return {
    key: undefined,
    pure: parsed.pure ?? false,
    priority: parsed.priority,
    retries: parsed.retries,
    workers: workerList(parsed.workers),
    allowOtherWorkers: parsed.allowOtherWorkers,
    resources: parsed.resources,
  };
}

/** Resolves once every state is done (one promise, however many states). */
function allDone(states: readonly KeyState[]): Promise<void> {
  let remaining = 0;
  for (const state of states) if (!state.done) remaining++;
  if (remaining === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const onDone = () => {
      if (--remaining === 0) resolve();
    };
    for (const state of states) if (!state.done) state.onDone(onDone);
  });
}
