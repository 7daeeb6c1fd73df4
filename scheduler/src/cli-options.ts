/**
 * `launchbay-scheduler` flags and their environment equivalents, validated with zod.
 * Pure: `parseCli(argv, env)` returns options, the help text, or an error message.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseOrigin } from "@launchbay/protocol";
import { DEFAULT_MAX_CODE_BYTES } from "./state/code-store.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

interface FlagSpec {
  flag: string;
  env?: string;
  value: string;
  help: string;
  schema: z.ZodType;
}

const integer = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expected ${what}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected ${what}`).max(max, `expected ${what}`));

const SIZE_UNITS: Record<string, number> = { "": 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
const byteSize = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+\s*(KiB|MiB|GiB)?$/i, `expected ${what}`)
    .transform((text) => {
      const [, digits, unit] = /^(\d+)\s*([a-z]*)$/i.exec(text)!;
      return Number(digits) * SIZE_UNITS[(unit ?? "").toLowerCase()]!;
    })
    .pipe(z.number().int().min(min, `expected ${what}`).max(max, `expected ${what}`));

const FLAGS = {
  host: {
    flag: "--host",
    env: "LAUNCHBAY_HOST",
    value: "HOST",
    help: "interface to listen on (default 127.0.0.1; anything but loopback needs --token)",
    schema: z.string().min(1, "expected a host name or IP address"),
  },
  port: {
    flag: "--port",
    env: "LAUNCHBAY_PORT",
    value: "PORT",
    help: "port for WebSocket and HTTP (default 8786; 0 = any free port)",
    schema: integer("a port number 0-65535", 0, 65535),
  },
  token: {
    flag: "--token",
    env: "LAUNCHBAY_TOKEN",
    value: "TOKEN",
    help: "shared secret every client, worker and HTTP request must present",
    schema: z.string().min(8, "expected a token of at least 8 characters"),
  },
  "allowed-origin": {
    flag: "--allowed-origin",
    env: "LAUNCHBAY_ALLOWED_ORIGINS",
    value: "ORIGIN",
    help:
      "browser origin (scheme://host[:port]) allowed to open WebSockets; repeatable, env comma-separated; " +
      "needs --token (default: none, every browser refused)",
    schema: z.string().transform((value, ctx) => {
      const parsed = parseOrigin(value);
      if (parsed.ok) return parsed.origin;
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    }),
  },
  "max-code-bytes": {
    flag: "--max-code-bytes",
    env: "LAUNCHBAY_MAX_CODE_BYTES",
    value: "SIZE",
    help: "budget for shipped functions and modules held at once, e.g. 512MiB (default 256MiB)",
    schema: byteSize("a size from 1MiB to 64GiB, such as 256MiB or 1GiB", 2 ** 20, 64 * 2 ** 30),
  },
  "log-level": {
    flag: "--log-level",
    env: "LAUNCHBAY_LOG_LEVEL",
    value: "LEVEL",
    help: `log level: ${LOG_LEVELS.join(", ")} (default info)`,
    schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` }),
  },
  "allowed-failures": {
    flag: "--allowed-failures",
    env: "LAUNCHBAY_ALLOWED_FAILURES",
    value: "N",
    help: "workers that may die running one task before it errs with killed-worker (default 3)",
    schema: integer("a whole number 0-1000", 0, 1000),
  },
  "heartbeat-interval": {
    flag: "--heartbeat-interval",
    env: "LAUNCHBAY_HEARTBEAT_INTERVAL",
    value: "MS",
    help: "milliseconds between worker heartbeats; 5 missed = worker lost (default 1000)",
    schema: integer("milliseconds 10-600000", 10, 600_000),
  },
} satisfies Record<string, FlagSpec>;

export interface CliOptions {
  host: string;
  port: number;
  token: string | undefined;
  allowedOrigins: string[];
  maxCodeBytes: number;
  logLevel: (typeof LOG_LEVELS)[number];
  allowedFailures: number;
  heartbeatIntervalMs: number;
}

export type CliParse =
  | { kind: "run"; options: CliOptions }
  | { kind: "help"; text: string }
  | { kind: "error"; message: string };

export function helpText(): string {
  const rows = Object.values(FLAGS as Record<string, FlagSpec>).map((f) => {
    const left = `  ${f.flag} ${f.value}`.padEnd(30);
    return `${left}${f.help}${f.env ? ` [env ${f.env}]` : ""}`;
  });
  return [
    "Usage: launchbay-scheduler [flags]",
    "",
    "Runs launchbay's scheduler: clients and workers connect over WebSocket, and the same",
    "port serves /healthz, /api/status, /metrics and /dashboard/. Prints its address",
    "(ws://HOST:PORT) as the first line on stdout once listening; logs JSON to stderr.",
    "",
    "Flags (a flag wins over its environment variable):",
    ...rows,
    `${"  --help".padEnd(30)}show this help`,
    "",
  ].join("\n");
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliParse {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(
          Object.keys(FLAGS).map((name) => [name, { type: "string" as const }]),
        ),
        "allowed-origin": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values;
  } catch (error) {
    return {
      kind: "error",
      message: `${(error as Error).message}. Run launchbay-scheduler --help for the flags.`,
    };
  }
  if (values.help) return { kind: "help", text: helpText() };
  const out: Record<string, unknown> = {};
  const origins = allowedOrigins(values["allowed-origin"], env);
  if (!origins.ok) return { kind: "error", message: origins.message };
  for (const [name, spec] of Object.entries(FLAGS as Record<string, FlagSpec>)) {
    if (name === "allowed-origin") continue;
    const fromFlag = values[name];
    const raw = typeof fromFlag === "string" ? fromFlag : spec.env ? env[spec.env] : undefined;
    if (raw === undefined || (raw === "" && fromFlag === undefined)) continue;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const source = typeof fromFlag === "string" ? spec.flag : `${spec.env} (for ${spec.flag})`;
      return {
        kind: "error",
        message: `${source}: ${parsed.error.issues[0]?.message ?? "invalid value"}, got "${raw}"`,
      };
    }
    out[name] = parsed.data;
  }
  return {
    kind: "run",
    options: {
      host: (out.host as string | undefined) ?? "127.0.0.1",
      port: (out.port as number | undefined) ?? 8786,
      token: out.token as string | undefined,
      allowedOrigins: origins.origins,
      maxCodeBytes: (out["max-code-bytes"] as number | undefined) ?? DEFAULT_MAX_CODE_BYTES,
      logLevel: (out["log-level"] as CliOptions["logLevel"] | undefined) ?? "info",
      allowedFailures: (out["allowed-failures"] as number | undefined) ?? 3,
      heartbeatIntervalMs: (out["heartbeat-interval"] as number | undefined) ?? 1000,
    },
  };
}

/** `--allowed-origin` (repeatable) or `LAUNCHBAY_ALLOWED_ORIGINS` (comma-separated), each validated. */
function allowedOrigins(
  fromFlags: string | string[] | boolean | undefined,
  env: NodeJS.ProcessEnv,
): { ok: true; origins: string[] } | { ok: false; message: string } {
  const flagged = Array.isArray(fromFlags);
  const raw = flagged
    ? fromFlags
    : (env.LAUNCHBAY_ALLOWED_ORIGINS ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== "");
  const origins: string[] = [];
  for (const value of raw) {
    const parsed = FLAGS["allowed-origin"].schema.safeParse(value);
    if (!parsed.success) {
      const source = flagged
        ? "--allowed-origin"
        : "LAUNCHBAY_ALLOWED_ORIGINS (for --allowed-origin)";
      return {
        ok: false,
        message: `${source}: ${parsed.error.issues[0]?.message ?? "invalid value"}, got "${value}"`,
      };
    }
    if (!origins.includes(parsed.data)) origins.push(parsed.data);
  }
  return { ok: true, origins };
}
