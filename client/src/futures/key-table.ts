/**
 * The client's bookkeeping of keys it wants from the scheduler: reference counts per key,
 * the scheduler's news applied to them, and batched releases. Pure: no sockets or timers;
 * `onReleasePending` tells the owner to call `takeReleases()` soon (it batches per tick).
 */
import type { RemoteErrorShape, TaskFailureCode } from "@launchbay/protocol";
import { CancelledError, CodeBudgetError, FutureLostError, RemoteTaskError } from "../errors.js";
import { KeyState } from "./key-state.js";

export class KeyTable {
  private readonly states = new Map<string, KeyState>();
  private releasing: KeyState[] = [];

  constructor(
    private readonly onReleasePending: () => void,
    /** A key left the table for good (released, cancelled or lost; not at the end of a session). */
    private readonly onForgotten: (state: KeyState) => void = () => {},
  ) {}

  get size(): number {
    return this.states.size;
  }

  get(key: string): KeyState | undefined {
    return this.states.get(key);
  }

  /** Starts tracking a key the client is about to submit or scatter. */
  create(key: string, session: number): KeyState {
    const state = new KeyState(key, session);
    this.states.set(key, state);
    return state;
  }

  /** A Future for `state` went away (released or garbage-collected). */
  decref(state: KeyState): void {
    if (--state.refs > 0 || !state.attached) return;
    if (this.releasing.length === 0) this.onReleasePending();
    this.releasing.push(state);
  }

  /** Keys whose last future went since the last call; they are forgotten here. */
  takeReleases(): string[] {
    const keys: string[] = [];
    for (const state of this.releasing) {
      // A new future for the key may have appeared since (a pure resubmission): keep it then.
      if (state.refs > 0 || !state.attached) continue;
      state.attached = false;
      state.released = true;
      this.states.delete(state.key);
      keys.push(state.key);
      this.onForgotten(state);
    }
    this.releasing = [];
    return keys;
  }

  inMemory(key: string, nbytes: number, data: Uint8Array | undefined): void {
    this.states.get(key)?.finish(nbytes, data);
  }

  erred(key: string, error: RemoteErrorShape): void {
    this.states
      .get(key)
      ?.fail(
        "error",
        error.code === "code-budget"
          ? new CodeBudgetError(key, error.message)
          : new RemoteTaskError(key, error),
      );
  }

  /** The scheduler forgot the key for this client. */
  lost(key: string, code: TaskFailureCode, message: string): void {
    const state = this.states.get(key);
    if (!state) return;
    this.detach(state);
    if (code === "cancelled") state.fail("cancelled", new CancelledError(key, message));
    else state.fail("lost", new FutureLostError(key, message));
  }

  /** The client cancels these keys: returns the ones to tell the scheduler about. */
  cancel(states: Iterable<KeyState>): string[] {
    const keys: string[] = [];
    for (const state of states) {
      if (!state.attached || this.states.get(state.key) !== state) continue;
      this.detach(state);
      state.fail("cancelled", new CancelledError(state.key));
      keys.push(state.key);
    }
    return keys;
  }

  /**
   * The scheduler connection ended: every key is forgotten there. Futures still pending,
   * and finished ones whose result is not here, fail with `error`; finished futures whose
   * result came inline keep it.
   */
  endSession(error: Error): void {
    const states = [...this.states.values()];
    this.states.clear();
    this.releasing = [];
    for (const state of states) {
      state.attached = false;
      state.sessionError = error;
      if (state.status === "pending" || (state.status === "finished" && state.data === undefined)) {
        state.fail("lost", error);
      }
    }
  }

  private detach(state: KeyState): void {
    state.attached = false;
    this.states.delete(state.key);
    this.onForgotten(state);
  }
}
