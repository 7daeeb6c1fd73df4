/** Dask distributed's side of the runtime benchmark: runs test/bench/dask_bench.py. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { RuntimeBenchConfig } from "./runtime-config.js";
import type { RuntimeFigures } from "./runtime-results.js";

const DaskOutput = z.object({
  version: z.string(),
  throughput_tasks_per_s: z.number(),
  round_trip_p50_ms: z.number(),
  round_trip_p99_ms: z.number(),
  chain_s: z.number(),
  transfer_gb_per_s: z.number().optional(),
  scheduler_rss_delta_mib: z.number(),
});

// test/dist/bench/runtime-dask.js → test/bench/dask_bench.py
const SCRIPT = fileURLToPath(new URL("../../bench/dask_bench.py", import.meta.url));

export async function runDask(
  config: RuntimeBenchConfig,
): Promise<RuntimeFigures & { version: string }> {
  if (!existsSync(config.python)) {
    throw new Error(
      `no Python with Dask at ${config.python}: run \`bash scripts/setup.sh jupyter\` (or set BENCH_PYTHON)`,
    );
  }
  const args = [
    SCRIPT,
    ...["--workers", config.workers, "--threads", config.threads, "--tasks", config.tasks],
    ...["--round-trips", config.roundTrips, "--chain", config.chain],
    ...["--transfer-mb", config.transferMB, "--held", config.held],
  ].map(String);
  const child = spawn(config.python, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  const line = stdout.trim().split("\n").pop() ?? "";
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(
      `dask_bench.py exited with ${code} without printing JSON; its stderr ends with:\n${stderr}`,
    );
  }
  const d = DaskOutput.parse(json);
  return {
    version: d.version,
    throughputTasksPerS: d.throughput_tasks_per_s,
    roundTripP50Ms: d.round_trip_p50_ms,
    roundTripP99Ms: d.round_trip_p99_ms,
    chainS: d.chain_s,
    transferGBPerS: d.transfer_gb_per_s,
    schedulerRssDeltaMiB: d.scheduler_rss_delta_mib,
  };
}
