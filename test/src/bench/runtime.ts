/**
 * `npm run bench:runtime`: launchbay vs Dask distributed, side by side on this machine,
 * with the same number of worker processes and threads (BENCH_WORKERS, BENCH_THREADS).
 * Measures (a) tiny-task throughput, (b) submit→result round trip, (c) a dependency
 * chain, (d) worker-to-worker transfer, (e) scheduler memory with many tasks held, and
 * prints a table with the ratios and the targets.
 */
import { availableParallelism } from "node:os";
import { benchConfig } from "./runtime-config.js";
import { runDask } from "./runtime-dask.js";
import { runLaunchbay } from "./runtime-launchbay.js";
import { comparisonTable } from "./runtime-results.js";

async function main(): Promise<number> {
  const config = benchConfig(process.env);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  log(
    `${config.workers} workers × ${config.threads} threads on ${availableParallelism()} cores, Node ${process.versions.node}`,
  );
  log("running launchbay");
  const launchbay = await runLaunchbay(config, log);
  log("running Dask distributed (this takes a while)");
  let dask: Awaited<ReturnType<typeof runDask>> | undefined;
  let daskError: string | undefined;
  try {
    dask = await runDask(config);
  } catch (error) {
    daskError = (error as Error).message;
  }
  process.stdout.write(
    `\nlaunchbay vs Dask distributed ${dask?.version ?? ""}: ${config.workers} worker processes × ${config.threads} threads, ` +
      `${availableParallelism()} cores\n\n`,
  );
  process.stdout.write(`${comparisonTable(launchbay, dask, config)}\n`);
  if (daskError) {
    process.stderr.write(`\nDask could not run: ${daskError}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:runtime failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
