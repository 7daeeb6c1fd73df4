import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";
import { logTail, type RunningComponent } from "./processes.js";

/**
 * Resolves once `probe` returns true. A process has no "I am ready" event, so this
 * probes its health endpoint with a backoff (10 ms doubling to 250 ms) — and fails
 * at once if any watched component exits meanwhile (with the tail of its log), or
 * after timeoutMs.
 */
export async function waitUntilReady(
  what: string,
  probe: () => Promise<boolean>,
  watched: RunningComponent[],
  timeoutMs: number,
): Promise<void> {
  let stop = false;
  const exited = watched.map((c) =>
    c.exited.then(async (how) => {
      if (stop) return;
      throw new K8sHarnessError(
        K8sHarnessErrorCode.ComponentExited,
        `${c.name} ${how} while waiting for ${what}; the end of ${c.logFile}:\n${await logTail(c.logFile)}`,
      );
    }),
  );
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  const probing = (async () => {
    let delay = 10;
    while (!stop) {
      try {
        if (await probe()) return;
        lastError = "";
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (Date.now() > deadline) {
        throw new K8sHarnessError(
          K8sHarnessErrorCode.NotReady,
          `${what} was not ready after ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ""}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 250);
    }
  })();
  try {
    await Promise.race([probing, ...exited]);
  } finally {
    stop = true;
  }
}
