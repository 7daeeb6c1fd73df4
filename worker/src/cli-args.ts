/**
 * Pure parsing of `launchbay-worker`'s command line and environment into worker
 * options. Flags win over environment variables. Errors name the flag (or variable)
 * and say what is expected.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseMemoryLimit } from "./byte-sizes.js";
import { LOG_LEVELS } from "./logger.js";
import { SchedulerUrl, WorkerName, type WorkerOptions } from "./options.js";

interface Flag {
  flag: string;
  env?: string;
  value: string;
  help: string;
}

/** Every flag, in the order `--help` lists them. */
export const FLAGS: Flag[] = [
  {
    flag: "token",
    env: "LAUNCHBAY_TOKEN",
    value: "TOKEN",
    help: "token the scheduler and peers require (default: none; loopback only)",
  },
  {
    flag: "nthreads",
    env: "LAUNCHBAY_NTHREADS",
    value: "N",
    help: "task threads (default: the number of CPUs)",
  },
  {
    flag: "memory-limit",
    env: "LAUNCHBAY_MEMORY_LIMIT",
    value: "SIZE",
    help: "bytes of results to hold: 2GiB, 1.5GB, 500MiB, bytes, or 80% of memory (default 80%)",
  },
  {
    flag: "name",
    env: "LAUNCHBAY_WORKER_NAME",
    value: "NAME",
    help: "unique worker name (default: <hostname>-<pid>)",
  },
  {
    flag: "host",
    env: "LAUNCHBAY_WORKER_HOST",
    value: "HOST",
    help: "data port bind address (default 127.0.0.1)",
  },
  {
    flag: "port",
    env: "LAUNCHBAY_WORKER_PORT",
    value: "PORT",
    help: "data port (default 0: any free port)",
  },
  {
    flag: "advertise-host",
    env: "LAUNCHBAY_ADVERTISE_HOST",
    value: "HOST",
    help: "host peers use to reach the data port (default: --host; the hostname for 0.0.0.0)",
  },
  {
    flag: "resources",
    env: "LAUNCHBAY_RESOURCES",
    value: "LIST",
    help: "resources tasks can claim, e.g. memoryMiB=1024,gpu=1",
  },
  {
    flag: "log-level",
    env: "LAUNCHBAY_LOG_LEVEL",
    value: "LEVEL",
    help: `${LOG_LEVELS.join(", ")} (default info)`,
  },
];

export function helpText(): string {
  const rows = FLAGS.map((f) => [`  --${f.flag} ${f.value}`, f.help, f.env ?? ""] as const);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    "Usage: launchbay-worker <scheduler-url> [flags]",
    "",
    "Runs tasks for a launchbay scheduler in worker threads, holds their results and",
    "serves them to peers. Prints its data address (ws://HOST:PORT) on stdout once",
    "registered; JSON logs go to stderr. SIGTERM or SIGINT stops it.",
    "",
    "  <scheduler-url>   the scheduler's address, e.g. ws://127.0.0.1:8786   env LAUNCHBAY_SCHEDULER",
    "",
    "Flags (each also settable by the environment variable shown):",
    ...rows.map(([left, help, env]) => `${left.padEnd(width)}${help}${env ? `   env ${env}` : ""}`),
    `${"  --help".padEnd(width)}show this help`,
    "",
  ].join("\n");
}

export type CliParse =
  | { kind: "help" }
  | { kind: "run"; options: WorkerOptions }
  | { kind: "error"; message: string };

const Int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number")
    .transform(Number)
    .pipe(
      z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`),
    );

const RESOURCE_ITEM = /^([A-Za-z][A-Za-z0-9_.-]{0,62})=(\d+(?:\.\d+)?)$/;

export function parseResources(text: string): Record<string, number> | string {
  const out: Record<string, number> = {};
  if (text.trim() === "") return out;
  for (const item of text.split(",")) {
    const m = RESOURCE_ITEM.exec(item.trim());
    if (!m) return `"${item}" is not NAME=AMOUNT (expected e.g. memoryMiB=1024,gpu=1)`;
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

export function parseWorkerArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  totalMemory: number,
): CliParse {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(FLAGS.map((f) => [f.flag, { type: "string" as const }])),
      },
    });
  } catch (error) {
    return {
      kind: "error",
      message: `${(error as Error).message.replace(/\. To specify.*$/s, "")}. Run launchbay-worker --help for the flags.`,
    };
  }
  if (parsed.values.help) return { kind: "help" };
  if (parsed.positionals.length > 1) {
    return {
      kind: "error",
      message: `expected one scheduler address, got ${parsed.positionals.length}: ${parsed.positionals.join(" ")}`,
    };
  }

  /** The value of a flag, else of its env var; with where it came from, for messages. */
  const get = (flag: string): { value: string; source: string } | undefined => {
    const fromFlag = parsed.values[flag];
    if (typeof fromFlag === "string") return { value: fromFlag, source: `--${flag}` };
    const spec = FLAGS.find((f) => f.flag === flag);
    const fromEnv = spec?.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: spec!.env! };
    return undefined;
  };
  const bad = (source: string, what: string): CliParse => ({
    kind: "error",
    message: `${source}: ${what}`,
  });
  const check = <T>(
    schema: z.ZodType<T>,
    flag: string,
  ): { ok: true; value: T | undefined } | { ok: false; error: CliParse } => {
    const raw = get(flag);
    if (!raw) return { ok: true, value: undefined };
    const result = schema.safeParse(raw.value);
    if (result.success) return { ok: true, value: result.data };
    return {
      ok: false,
      error: bad(
        raw.source,
        `${JSON.stringify(raw.value)} is invalid: ${result.error.issues[0]?.message ?? "bad value"}`,
      ),
    };
  };

  const schedulerRaw = parsed.positionals[0] ?? env.LAUNCHBAY_SCHEDULER;
  if (!schedulerRaw) {
    return {
      kind: "error",
      message:
        "missing the scheduler address: pass it as the first argument (ws://HOST:PORT) or set LAUNCHBAY_SCHEDULER",
    };
  }
  const scheduler = SchedulerUrl.safeParse(schedulerRaw);
  if (!scheduler.success) {
    return bad(
      parsed.positionals[0] ? "<scheduler-url>" : "LAUNCHBAY_SCHEDULER",
      `${JSON.stringify(schedulerRaw)} ${scheduler.error.issues[0]?.message}`,
    );
  }
  const options: WorkerOptions = { scheduler: scheduler.data };

  const token = get("token");
  if (token) options.token = token.value;
  const nthreads = check(Int(1, 1024), "nthreads");
  if (!nthreads.ok) return nthreads.error;
  if (nthreads.value !== undefined) options.nthreads = nthreads.value;
  const port = check(Int(0, 65535), "port");
  if (!port.ok) return port.error;
  if (port.value !== undefined) options.port = port.value;
  const name = check(WorkerName, "name");
  if (!name.ok) return name.error;
  if (name.value !== undefined) options.name = name.value;
  const host = check(z.string().min(1, "expected a host name or IP address"), "host");
  if (!host.ok) return host.error;
  if (host.value !== undefined) options.host = host.value;
  const advertise = check(
    z.string().min(1, "expected a host name or IP address"),
    "advertise-host",
  );
  if (!advertise.ok) return advertise.error;
  if (advertise.value !== undefined) options.advertiseHost = advertise.value;
  const level = check(z.enum(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(", ")}`), "log-level");
  if (!level.ok) return level.error;
  if (level.value !== undefined) options.logLevel = level.value;

  const memory = get("memory-limit");
  if (memory) {
    const limit = parseMemoryLimit(memory.value, totalMemory);
    if (!limit.ok) return bad(memory.source, limit.error);
    options.memoryLimit = limit.bytes;
  }
  const resources = get("resources");
  if (resources) {
    const r = parseResources(resources.value);
    if (typeof r === "string") return bad(resources.source, r);
    options.resources = r;
  }
  return { kind: "run", options };
}
