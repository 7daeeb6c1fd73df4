/** `client.wait()`: waits for all (or the first) of some futures, with an optional timeout. */
import { TimeoutError } from "../errors.js";
import { Future } from "./future.js";

export type ReturnWhen = "ALL_COMPLETED" | "FIRST_COMPLETED";

export interface WaitOptions {
  returnWhen?: ReturnWhen;
  /** Reject with a TimeoutError after this many milliseconds. */
  timeoutMs?: number;
}

export interface WaitResult<T> {
  done: Future<T>[];
  notDone: Future<T>[];
}

export function waitFor<T>(
  futures: readonly Future<T>[],
  options: WaitOptions = {},
): Promise<WaitResult<T>> {
  const returnWhen = options.returnWhen ?? "ALL_COMPLETED";
  const split = (): WaitResult<T> => ({
    done: futures.filter((f) => f.done()),
    notDone: futures.filter((f) => !f.done()),
  });
  const states = futures.map((f) => Future.stateOf(f));
  let remaining = states.filter((s) => !s.done).length;
  if (remaining === 0 || (returnWhen === "FIRST_COMPLETED" && remaining < states.length)) {
    return Promise.resolve(split());
  }
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      for (const state of states) state.offDone(onDone);
      resolve(split());
    };
    const onDone = () => {
      remaining--;
      if (remaining === 0 || returnWhen === "FIRST_COMPLETED") finish();
    };
    for (const state of states) if (!state.done) state.onDone(onDone);
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        for (const state of states) state.offDone(onDone);
        const { done, notDone } = split();
        reject(
          new TimeoutError(
            `wait() timed out after ${options.timeoutMs} ms with ${notDone.length} of ${futures.length} futures not done ` +
              `(${done.length} done): raise timeoutMs, or check client.info() for workers and task states`,
          ),
        );
      }, options.timeoutMs);
    }
  });
}
