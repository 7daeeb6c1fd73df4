/**
 * A lazy task graph from plain function calls, like `dask.delayed`:
 *
 *   const inc = delayed(client, (x: number) => x + 1);
 *   const add = delayed(client, (a: number, b: number) => a + b);
 *   const total = add(inc(1), inc(2));       // Delayed<number>: nothing has run
 *   await total.compute();                   // 5
 *   await compute(total, inc(total));        // [5, 6]: several at once, shared parts once
 *
 * A delayed function checks its function when it is made (a free variable fails there,
 * not at compute time) and, called, records the call. Delayed values among the arguments
 * (also nested in arrays and plain objects) become the task's dependencies; futures may be
 * arguments too. `compute` submits every call of the graph once — a call reached twice is
 * one task — and lets go of everything but what it returns.
 */
import type { Client } from "../client.js";
import { LaunchbayError } from "../errors.js";
import type { Future } from "../futures/future.js";
import { DelayedOptions, parseOptions } from "../options.js";
import { shipFunction } from "../shipping/shipped-function.js";
import { withHelpers } from "../shipping/with-helpers.js";

/** An argument of a delayed call: a value, a Delayed or Future of it, or arrays/objects holding them. */
export type DelayedArg<T> =
  | T
  | Delayed<T>
  | Future<T>
  | (T extends readonly unknown[]
      ? { [K in keyof T]: DelayedArg<T[K]> }
      : T extends { [key: string]: unknown }
        ? { [K in keyof T]: DelayedArg<T[K]> }
        : never);

export type DelayedArgs<A extends readonly unknown[]> = { [K in keyof A]: DelayedArg<A[K]> };

/** What `delayed(client, fn)` returns: call it like `fn` to get a Delayed result. */
export type DelayedFunction<A extends unknown[], R> = (...args: DelayedArgs<A>) => Delayed<R>;

// biome-ignore lint/suspicious/noExplicitAny: a submitted function of any signature
type AnyFunction = (...args: any[]) => unknown;

interface Call {
  readonly client: Client;
  readonly fn: AnyFunction;
  readonly options: Omit<DelayedOptions, "uses">;
  readonly args: readonly unknown[];
  /** The Delayed values directly among the arguments (at any depth), in order. */
  readonly deps: readonly Delayed<unknown>[];
}

const MAX_DEPTH = 64;

/** The result of a delayed call, not computed yet. */
export class Delayed<T = unknown> {
  readonly #call: Call;
  /** Phantom member that makes `Delayed<number>` and `Delayed<string>` distinct types. */
  declare readonly __result?: T;

  /** @internal Made by calling a delayed function. */
  constructor(call: Call) {
    this.#call = call;
  }

  /** @internal */
  static callOf(d: Delayed<unknown>): Call {
    return d.#call;
  }

  /** The name of the function this calls (for display). */
  get name(): string {
    return this.#call.fn.name || "task";
  }

  /** Runs the graph on the cluster and returns this value. */
  compute(): Promise<T> {
    return compute(this as Delayed<unknown>).then(([value]) => value as T);
  }

  /** `value[key]` of this value, as another delayed call (e.g. one element of a returned pair). */
  get<K extends keyof T>(key: K): Delayed<T[K]> {
    if (typeof key !== "string" && typeof key !== "number") {
      throw new LaunchbayError(
        "invalid-option",
        `Delayed.get takes a property name or an index, got ${typeof key}`,
      );
    }
    return delayed(this.#call.client, pick)(
      this as Delayed<unknown> as Delayed<never>,
      key,
    ) as Delayed<T[K]>;
  }

  toString(): string {
    return `Delayed(${this.name})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function pick(value: Record<string | number, unknown>, key: string | number): unknown {
  return value[key];
}

/**
 * Wraps `fn` so that calling it records a task instead of running it. `options` are those
 * of `submitWith` (retries, priority, pure, resources, workers, uses) but `key`.
 */
export function delayed<A extends unknown[], R>(
  client: Client,
  fn: (...args: A) => R | Promise<R>,
  options?: DelayedOptions,
): DelayedFunction<A, Awaited<R>> {
  checkClient(client);
  const { uses, ...rest } = parseOptions(DelayedOptions, options, "delayed options");
  const shipped = (uses ? withHelpers(fn as AnyFunction, uses) : fn) as AnyFunction;
  shipFunction(shipped); // a free variable fails here, where the function is given
  const wrapper = (...args: unknown[]) => {
    const deps: Delayed<unknown>[] = [];
    collectDelayed(args, deps, 0);
    for (const dep of deps) {
      if (Delayed.callOf(dep).client !== client) {
        throw new LaunchbayError(
          "invalid-option",
          `an argument of delayed ${fn.name || "function"} was made with another client: build a graph with one client`,
        );
      }
    }
    return new Delayed<Awaited<R>>({ client, fn: shipped, options: rest, args, deps });
  };
  Object.defineProperty(wrapper, "name", { value: fn.name });
  return wrapper as DelayedFunction<A, Awaited<R>>;
}

/** The values of several delayed results at once; calls they share run once. */
export async function compute<const D extends readonly Delayed<unknown>[]>(
  ...outputs: D
): Promise<{ -readonly [K in keyof D]: D[K] extends Delayed<infer T> ? T : never }> {
  if (outputs.length === 0) return [] as never;
  for (const [i, output] of outputs.entries()) {
    if (!(output instanceof Delayed)) {
      throw new LaunchbayError(
        "invalid-option",
        `compute takes Delayed values (from calling a delayed function), argument ${i} is not one`,
      );
    }
  }
  const client = Delayed.callOf(outputs[0]!).client;
  if (outputs.some((o) => Delayed.callOf(o).client !== client)) {
    throw new LaunchbayError(
      "invalid-option",
      "compute was given Delayed values of different clients: compute each client's separately",
    );
  }
  const futures = new Map<Delayed<unknown>, Future<unknown>>();
  try {
    for (const node of dependencyOrder(outputs)) {
      const call = Delayed.callOf(node);
      const args = replaceDelayed(call.args, futures, 0) as unknown[];
      futures.set(node, client.submitWith(call.options, call.fn, ...args));
    }
  } catch (error) {
    for (const future of futures.values()) future.release();
    throw error;
  }
  // The scheduler keeps what pending tasks need: hold only the outputs.
  const results = outputs.map((o) => futures.get(o)!);
  const keep = new Set(results);
  for (const future of futures.values()) if (!keep.has(future)) future.release();
  try {
    return (await client.gather(results)) as never;
  } finally {
    for (const future of keep) future.release();
  }
}

/** Every call the outputs reach, each once, dependencies first (iterative: deep chains are fine). */
function dependencyOrder(outputs: readonly Delayed<unknown>[]): Delayed<unknown>[] {
  const order: Delayed<unknown>[] = [];
  const done = new Set<Delayed<unknown>>();
  const stack: { node: Delayed<unknown>; next: number }[] = [];
  for (const output of outputs) {
    if (done.has(output)) continue;
    stack.push({ node: output, next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = Delayed.callOf(top.node).deps;
      if (top.next < deps.length) {
        const dep = deps[top.next++]!;
        if (!done.has(dep)) stack.push({ node: dep, next: 0 });
      } else {
        stack.pop();
        if (!done.has(top.node)) {
          done.add(top.node);
          order.push(top.node);
        }
      }
    }
  }
  return order;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function collectDelayed(value: unknown, out: Delayed<unknown>[], depth: number): void {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return;
  if (value instanceof Delayed) out.push(value);
  else if (Array.isArray(value)) for (const item of value) collectDelayed(item, out, depth + 1);
  else if (value instanceof Map || value instanceof Set) {
    for (const item of value.values()) {
      if (item instanceof Delayed) {
        throw new LaunchbayError(
          "invalid-option",
          "a Delayed inside a Map or Set cannot become a dependency: pass it directly, or in an array or plain object",
        );
      }
    }
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) collectDelayed(value[key], out, depth + 1);
  }
}

function replaceDelayed(
  value: unknown,
  futures: ReadonlyMap<Delayed<unknown>, Future<unknown>>,
  depth: number,
): unknown {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
  if (value instanceof Delayed) return futures.get(value);
  if (Array.isArray(value)) return value.map((item) => replaceDelayed(item, futures, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = replaceDelayed(value[key], futures, depth + 1);
    return out;
  }
  return value;
}

function checkClient(client: unknown): void {
  const c = client as { submitWith?: unknown; gather?: unknown } | null;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.submitWith !== "function" ||
    typeof c.gather !== "function"
  ) {
    throw new LaunchbayError(
      "invalid-option",
      "delayed needs a connected Client as its first argument: delayed(client, fn)",
    );
  }
}
