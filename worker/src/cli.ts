/**
 * `launchbay-worker <scheduler-url> [flags]`: prints the data address as the first line
 * on stdout once registered; exits 2 on a bad flag, 1 on a fatal error, 0 after
 * SIGTERM/SIGINT.
 */
import { totalmem } from "node:os";
import { availableMemory } from "./byte-sizes.js";
import { helpText, parseWorkerArgs } from "./cli-args.js";
import { WorkerError } from "./errors.js";
import { startWorker } from "./worker.js";

async function main(): Promise<number> {
  const parsed = parseWorkerArgs(
    process.argv.slice(2),
    process.env,
    availableMemory(totalmem(), process.constrainedMemory?.()),
  );
  if (parsed.kind === "help") {
    process.stdout.write(helpText());
    return 0;
  }
  if (parsed.kind === "error") {
    process.stderr.write(`launchbay-worker: ${parsed.message}\n`);
    return 2;
  }
  const stop = new AbortController();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop.abort(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker({ ...parsed.options, signal: stop.signal });
  } catch (error) {
    if (error instanceof WorkerError && error.code === "closed") return 0;
    process.stderr.write(`launchbay-worker: ${(error as Error).message}\n`);
    return error instanceof WorkerError &&
      (error.code === "bad-options" || error.code === "unsafe-bind")
      ? 2
      : 1;
  }
  process.stdout.write(`${worker.address}\n`);
  stop.signal.addEventListener("abort", () => void worker.close(), { once: true });
  if (stop.signal.aborted) void worker.close();
  try {
    await worker.finished;
    return 0;
  } catch (error) {
    process.stderr.write(`launchbay-worker: ${(error as Error).message}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // Task threads may hold timers; the worker is done.
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`launchbay-worker: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
