/**
 * What the client knows about one key: its status, its result bytes when they came inline,
 * its error, and how many live `Future` objects refer to it. Several futures may share
 * one key (pure tasks, the same future gathered twice); the key is released at the
 * scheduler when the last one goes.
 */
export type FutureStatus = "pending" | "finished" | "error" | "cancelled" | "lost";

export class KeyState {
  status: FutureStatus = "pending";
  /** Live Future objects for this key. */
  refs = 0;
  /** Result size in bytes (known once finished). */
  nbytes = 0;
  /** The result's bytes when the scheduler sent them inline. */
  data: Uint8Array | undefined;
  error: Error | undefined;
  /** True while the scheduler holds this key for us; false once released, cancelled, lost or the session ended. */
  attached = true;
  /** Set when the key was given up because the client released it. */
  released = false;
  /** Why the key is no longer usable as a dependency when its session ended. */
  sessionError: Error | undefined;
  private listeners: (() => void)[] | undefined;

  constructor(
    readonly key: string,
    /** The scheduler session this key belongs to (a reconnect starts a new one). */
    readonly session: number,
  ) {}

  get done(): boolean {
    return this.status !== "pending";
  }

  /** Calls `listener` once the key leaves `pending` (at once if it already has). */
  onDone(listener: () => void): void {
    if (this.done) listener();
    else if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  /** Removes a listener added with `onDone` that has not run yet. */
  offDone(listener: () => void): void {
    const list = this.listeners;
    if (!list) return;
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  }

  whenDone(): Promise<void> {
    return this.done ? Promise.resolve() : new Promise((resolve) => this.onDone(resolve));
  }

  finish(nbytes: number, data: Uint8Array | undefined): void {
    if (this.status !== "pending" && this.status !== "finished") return;
    this.nbytes = nbytes;
    this.data = data;
    this.settle("finished");
  }

  fail(status: "error" | "cancelled" | "lost", error: Error): void {
    if (this.status === "cancelled" || this.status === "lost") return;
    this.error = error;
    this.data = undefined;
    this.settle(status);
  }

  private settle(status: FutureStatus): void {
    this.status = status;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}
