/**
 * A handle on a task's (or scattered value's) result. Futures are cheap: the bookkeeping
 * lives in the shared `KeyState`; a future only holds a reference to it, released
 * explicitly (`release()`) or when the future is garbage-collected.
 *
 * A future is a thenable: `await future` is `await future.result()`. So a future must
 * never be what a promise resolves to inside the client (an async function returning a
 * future, `yield` in an async generator, `Promise.resolve(future)`): that would wait for
 * the task and hand over its value instead of the future. Return futures synchronously,
 * or inside an array or object.
 */
import { LaunchbayError, TimeoutError } from "../errors.js";
import { parseOptions, ResultOptions } from "../options.js";
import type { FutureStatus, KeyState } from "./key-state.js";

/** What a Future needs from the client that created it. */
export interface FutureOwner {
  resultOf(state: KeyState): Promise<unknown>;
  cancelStates(states: KeyState[]): void;
  dropFuture(future: Future<unknown>, state: KeyState): void;
}

export class Future<T = unknown> implements PromiseLike<T> {
  readonly #state: KeyState;
  readonly #owner: FutureOwner;
  #held = true;
  /** Phantom member that makes `Future<number>` and `Future<string>` distinct types. */
  declare readonly __result?: T;

  /** @internal Created by the client (submit, map, scatter); not meant to be constructed directly. */
  constructor(state: KeyState, owner: FutureOwner) {
    this.#state = state;
    this.#owner = owner;
    state.refs++;
  }

  get key(): string {
    return this.#state.key;
  }

  get status(): FutureStatus {
    return this.#state.status;
  }

  /** True once the future is no longer pending (finished, erred, cancelled or lost). */
  done(): boolean {
    return this.#state.done;
  }

  /**
   * Waits for the task and returns its value (fetched from a worker when it is large);
   * rejects with the task's error. `await future` is the same; `result({ timeoutMs })`
   * adds a deadline: a TimeoutError (code `timeout`) if the value is not there in time
   * (the task keeps running; call result() again to keep waiting, or cancel() it).
   */
  result(options?: ResultOptions): Promise<T> {
    if (!this.#held) return Promise.reject(releasedError(this.#state.key));
    let timeoutMs: number | undefined;
    try {
      timeoutMs =
        options === undefined
          ? undefined
          : parseOptions(ResultOptions, options, "result options").timeoutMs;
    } catch (error) {
      return Promise.reject(error);
    }
    let pending = this.#owner.resultOf(this.#state) as Promise<T>;
    if (timeoutMs !== undefined && !this.#state.done) {
      pending = withDeadline(pending, timeoutMs, this.#state);
    }
    // `await client.submit(fn, x).result()` keeps no reference to the future itself: hold
    // it until its result settles, or garbage collection would release the key (and the
    // scheduler forget the task) while the caller waits for it.
    return pending.finally(() => keepReachable(this));
  }

  /**
   * `await future` waits for the task and gives its value, like `await future.result()`
   * (rejecting with the task's error). Also `future.then(...)`, `Promise.all([f1, f2])`.
   */
  // biome-ignore lint/suspicious/noThenProperty: futures are thenables on purpose (issue 11).
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.result().then(onFulfilled, onRejected);
  }

  /** The error the future failed with, once done (undefined when it finished). */
  async exception(): Promise<Error | undefined> {
    await this.#state.whenDone();
    return this.#state.status === "finished" ? undefined : this.#state.error;
  }

  /** Cancels the task (for this client): `result()` rejects with a CancelledError. */
  cancel(): void {
    this.#owner.cancelStates([this.#state]);
  }

  /** Drops this future's hold on the result; the scheduler frees it once no future holds it. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#owner.dropFuture(this, this.#state);
  }

  /** Calls `callback` once the future is done (finished, erred, cancelled or lost). */
  addDoneCallback(callback: (future: Future<T>) => void): void {
    this.#state.onDone(() => callback(this));
  }

  toString(): string {
    return `Future(${this.#state.key}, ${this.#state.status})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** @internal */
  static stateOf(future: Future<unknown>): KeyState {
    return future.#state;
  }

  /** @internal */
  static ownerOf(future: Future<unknown>): FutureOwner {
    return future.#owner;
  }

  /** @internal */
  static isHeld(future: Future<unknown>): boolean {
    return future.#held;
  }
}

function withDeadline<T>(pending: Promise<T>, timeoutMs: number, state: KeyState): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TimeoutError(
          `future ${state.key} has no result after ${timeoutMs} ms (status ${state.status}): ` +
            "the task keeps running; call result() again to keep waiting, cancel() it, " +
            "or check client.info() for workers and task states",
        ),
      );
    }, timeoutMs);
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

/** Referenced from a pending result's callback so the future stays reachable until then. */
function keepReachable(_future: Future<unknown>): void {}

export function releasedError(key: string): LaunchbayError {
  return new LaunchbayError(
    "released",
    `future ${key} was released, so its result may be gone: keep the future (do not call release()) while you need its result`,
  );
}
