/**
 * `client.asCompleted()`: an async iterator over futures in the order they complete.
 * More futures may be added while iterating (`add`). With `withResults`, it yields
 * `[future, value]` pairs and throws the first error it meets.
 */
import { Future } from "./future.js";

export class AsCompleted<T, Y = Future<T>> implements AsyncIterable<Y> {
  private completed: Future<T>[] = [];
  private head = 0;
  private outstanding = 0;
  private wake: (() => void) | undefined;

  constructor(
    futures: Iterable<Future<T>>,
    private readonly withResults: boolean,
  ) {
    for (const future of futures) this.add(future);
  }

  /** Adds a future to iterate over. */
  add(future: Future<T>): void {
    this.outstanding++;
    Future.stateOf(future).onDone(() => {
      this.completed.push(future);
      this.wake?.();
    });
  }

  /** Futures not yielded yet. */
  get count(): number {
    return this.outstanding;
  }

  /**
   * A hand-written iterator, not an async generator: `yield future` in an async generator
   * awaits the future (a thenable) and would yield its value instead of the future.
   */
  [Symbol.asyncIterator](): AsyncIterator<Y> {
    return { next: () => this.#next() };
  }

  async #next(): Promise<IteratorResult<Y>> {
    while (this.outstanding > 0) {
      if (this.head === this.completed.length) {
        this.completed = [];
        this.head = 0;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const future = this.completed[this.head++]!;
      this.outstanding--;
      if (this.withResults) return { done: false, value: [future, await future.result()] as Y };
      return { done: false, value: future as Y };
    }
    return { done: true, value: undefined };
  }
}
