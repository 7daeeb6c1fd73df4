/**
 * The `launchbay-scheduler` command: parses flags, starts the scheduler, prints its
 * address as the first stdout line, logs JSON to stderr, shuts down on SIGTERM/SIGINT.
 * Exit codes: 0 after a clean shutdown, 1 when it cannot start, 2 for bad flags, 70 when
 * the state machine failed (a scheduler bug: the fatal log line carries the error and the
 * task's story; the supervisor restarts the process).
 */
import pino from "pino";
import { parseCli } from "./cli-options.js";
import { SchedulerError } from "./errors.js";
import type { SchedulerTestHooks } from "./server/options.js";
import { startScheduler } from "./server/start-scheduler.js";

/** EX_SOFTWARE: an internal error (the state machine threw). */
const EXIT_STATE_FAILURE = 70;

/**
 * Fault injection for the tests that check the scheduler fails hard. Read from the
 * environment only when NODE_ENV is not "production" (the images set it), so no deployed
 * scheduler can be made to fail on purpose; there is no flag for it.
 */
function testHooks(): { testHooks?: SchedulerTestHooks } {
  const name = process.env.LAUNCHBAY_TEST_FAIL_ON_CLIENT;
  if (!name || process.env.NODE_ENV === "production") return {};
  return { testHooks: { failOnClientName: name } };
}

async function main(): Promise<void> {
  const parsed = parseCli(process.argv.slice(2), process.env);
  if (parsed.kind === "help") {
    process.stdout.write(parsed.text);
    return;
  }
  if (parsed.kind === "error") {
    process.stderr.write(`launchbay-scheduler: ${parsed.message}\n`);
    process.exitCode = 2;
    return;
  }
  const { logLevel, ...options } = parsed.options;
  const logger = pino(
    { level: logLevel, base: { component: "scheduler", pid: process.pid } },
    pino.destination(2),
  );
  let scheduler: Awaited<ReturnType<typeof startScheduler>>;
  try {
    scheduler = await startScheduler({
      ...options,
      logger,
      ...testHooks(),
      onFatal: () => {
        logger.flush();
        process.exit(EXIT_STATE_FAILURE);
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, "Scheduler failed to start");
    process.stderr.write(`launchbay-scheduler: ${message}\n`);
    process.exitCode = error instanceof SchedulerError && error.code === "bad-flag" ? 2 : 1;
    return;
  }
  process.stdout.write(`${scheduler.address}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "Received signal, shutting down");
    scheduler.close().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "Shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
