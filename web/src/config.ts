import { randomBytes } from "node:crypto";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { LauncherError } from "./errors.js";

const LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const DOMAIN_PATTERN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const PUBLIC_HOST_PATTERN = new RegExp(
  `^(${LABEL}(\\.${LABEL})*|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?$`,
);

const positiveInt = z.coerce.number().int().positive();

/** The workshop as attendees experience it. */
export const workshopSettingsSchema = z.object({
  title: z.string().min(1).max(200).default("Parallel computing workshop"),
  lifetimeMinutes: positiveInt.max(7 * 24 * 60).default(120),
  maxLifetimeMinutes: positiveInt.max(7 * 24 * 60).default(240),
  warningMinutes: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(10),
  maxSandboxes: positiveInt.max(100_000).default(20),
  warmPool: z.coerce.number().int().min(0).max(10_000).default(0),
  workers: positiveInt.max(64).default(3),
  accessCode: z.string().min(4).max(200).optional(),
});
export type WorkshopSettings = z.infer<typeof workshopSettingsSchema>;

const rateRuleSchema = z.object({
  burst: positiveInt,
  perMinute: positiveInt,
});

/** At most `max` events per `windowSeconds` (a fixed window per key). */
const limitRuleSchema = z.object({
  max: positiveInt,
  windowSeconds: positiveInt.max(7 * 24 * 3600),
});
export type LimitRule = z.infer<typeof limitRuleSchema>;

const IPV4_CIDR = /^(\d{1,3})(\.\d{1,3}){3}(\/(3[0-2]|[12]?\d))?$/;
const IPV6_CIDR = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(\/(12[0-8]|1[01]\d|[1-9]?\d))?$/;

/**
 * Which proxies to believe about the client's address: `false` (none), a hop count (the
 * last N addresses of X-Forwarded-For are proxies of ours), or a list of proxy addresses
 * / CIDR ranges. Never `true`: trusting every hop lets any client pick its own address.
 */
export const trustProxySchema = z
  .union([z.boolean(), z.number(), z.string(), z.array(z.string())])
  .transform((value, ctx): false | number | string[] => {
    const text = Array.isArray(value) ? value.join(",") : String(value).trim();
    if (value === false || text === "false" || text === "0" || text === "") return false;
    if (value === true || text === "true") {
      ctx.addIssue({
        code: "custom",
        message:
          "true would trust every X-Forwarded-For hop, so any client could pick its own address and escape every rate limit; give the number of proxies in front of the launcher (1 behind ingress-nginx, 2 behind Google's HTTP(S) load balancer) or their addresses (10.0.0.0/8,127.0.0.1)",
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(text)) {
      const hops = Number(text);
      if (hops > 10) {
        ctx.addIssue({ code: "custom", message: "a hop count must be between 0 and 10" });
        return z.NEVER;
      }
      return hops;
    }
    const list = text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const bad = list.filter(
      (s) =>
        !(
          IPV4_CIDR.test(s) &&
          s
            .split("/")[0]!
            .split(".")
            .every((o) => Number(o) <= 255)
        ) && !IPV6_CIDR.test(s),
    );
    if (bad.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `not an address or CIDR range: ${bad.join(", ")}; use a hop count (1) or addresses like 10.0.0.0/8,127.0.0.1`,
      });
      return z.NEVER;
    }
    return list;
  });

export const configSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    backend: z.enum(["local", "kubernetes"]).default("local"),
    /** Signs identity and organiser cookies; a random one means cookies die with the process. */
    cookieSecret: z.string().min(32, "must be at least 32 characters").optional(),
    /** The organiser's token for /admin and the admin API. */
    organiserToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** Trust X-Forwarded-* from a reverse proxy / ingress (needed for Secure cookies behind TLS). */
    trustProxy: trustProxySchema.default(false),
    /** Extra origins allowed to send state-changing requests (the page's own origin always is). */
    allowedOrigins: z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (Array.isArray(v) ? v : v.split(",").filter((s) => s.length > 0)))
      .default([]),
    /**
     * The host names (with the port browsers use, when not 80/443) the launcher answers for;
     * any other Host is refused before routing. Empty: the loopback names with the listening
     * port (localhost, 127.0.0.1, [::1]).
     */
    publicHosts: z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (Array.isArray(v) ? v : v.split(",").filter((s) => s.length > 0)))
      .pipe(
        z.array(
          z
            .string()
            .transform((h) => h.trim().toLowerCase())
            .refine((h) => PUBLIC_HOST_PATTERN.test(h), {
              message:
                "must be a host name with an optional port, like launchbay.example.org or localhost:8080 (no scheme, no path)",
            }),
        ),
      )
      .default([]),
    /**
     * Each sandbox is served from its own origin `<sandbox id>.<sandboxDomain>` (a host name
     * without port; the port is the one the attendee used for the launcher). Locally
     * `localhost`: browsers resolve every `*.localhost` to loopback.
     */
    sandboxDomain: z
      .string()
      .transform((h) => h.trim().toLowerCase())
      .refine((h) => DOMAIN_PATTERN.test(h), {
        message:
          "must be a DNS name without port or scheme, like sandboxes.example.org (wildcard DNS *.sandboxes.example.org must point at the launcher)",
      })
      .default("localhost"),
    logLevel: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    maxConcurrentStarts: positiveInt.max(1000).default(2),
    /** The waiting line of a full workshop (web/README.md#the-waiting-line). */
    waitingLine: z
      .object({
        /** How long an attendee who left the launch page keeps their place. */
        graceSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
        /** The most attendees in line; past it a launch answers 409 workshop-full. */
        max: positiveInt.max(100_000).default(1000),
      })
      .default({ graceSeconds: 300, max: 1000 }),
    rateLimitIp: rateRuleSchema.default({ burst: 300, perMinute: 600 }),
    rateLimitAttendee: rateRuleSchema.default({ burst: 10, perMinute: 20 }),
    /** Abuse limits (web/README.md#abuse-limits explains the defaults). */
    limits: z
      .object({
        newIdentitiesPerIp: limitRuleSchema.default({ max: 2000, windowSeconds: 3600 }),
        launchesPerIp: limitRuleSchema.default({ max: 1000, windowSeconds: 3600 }),
        accessCodePerIp: limitRuleSchema.default({ max: 300, windowSeconds: 900 }),
        accessCodePerWorkshop: limitRuleSchema.default({ max: 1000, windowSeconds: 900 }),
        organiserSignInPerIp: limitRuleSchema.default({ max: 10, windowSeconds: 900 }),
      })
      .default({
        newIdentitiesPerIp: { max: 2000, windowSeconds: 3600 },
        launchesPerIp: { max: 1000, windowSeconds: 3600 },
        accessCodePerIp: { max: 300, windowSeconds: 900 },
        accessCodePerWorkshop: { max: 1000, windowSeconds: 900 },
        organiserSignInPerIp: { max: 10, windowSeconds: 900 },
      }),
    /** "Download my work": the most a zip may hold (MiB) and the most files. */
    downloadMaxMib: positiveInt.max(64 * 1024).default(200),
    downloadMaxFiles: positiveInt.max(1_000_000).default(2000),
    /** How long an organiser session lasts after sign-in. */
    organiserSessionHours: positiveInt.max(24 * 7).default(12),
    workshop: workshopSettingsSchema.default(workshopSettingsSchema.parse({})),
    local: z
      .object({
        sandboxesDir: z.string().min(1).optional(),
        /** Attendees' work kept after their sandbox ends (default ~/.cache/launchbay/archives). */
        archivesDir: z.string().min(1).optional(),
        /** Days an archive is kept and restored into the attendee's next sandbox; 0: none. */
        archiveRetentionDays: z.coerce.number().min(0).max(3650).default(7),
        venvDir: z.string().min(1).optional(),
        notebooksDir: z.string().min(1).optional(),
        workerThreads: positiveInt.max(64).default(1),
        workerMemoryLimit: z
          .string()
          .regex(/^[0-9]+(\.[0-9]+)?(B|KiB|MiB|GiB|KB|MB|GB)?$/, "must look like 1GiB or 512MiB")
          .default("1GiB"),
        startTimeoutSeconds: positiveInt.max(3600).default(180),
        /** As root: each sandbox's cgroup limits (all its processes together). */
        sandboxMemory: z
          .string()
          .regex(/^[0-9]+(\.[0-9]+)?(B|KiB|MiB|GiB|KB|MB|GB)?$/, "must look like 4GiB or 512MiB")
          .default("4GiB"),
        sandboxCpus: z.coerce.number().positive().max(1024).default(2),
        sandboxPids: positiveInt.min(64, "must be at least 64").max(1_000_000).default(1024),
        /** Launcher state (database, cookie secret, organiser token); default ~/.cache/launchbay. */
        stateDir: z
          .string()
          .min(1)
          .refine(isAbsolute, "must be an absolute path like /var/lib/launchbay")
          .optional(),
        /** What stopping the launcher does to running sandboxes: keep them for the next start, or stop them. */
        onExit: z.enum(["keep", "stop"]).default("keep"),
      })
      .default({
        archiveRetentionDays: 7,
        workerThreads: 1,
        workerMemoryLimit: "1GiB",
        startTimeoutSeconds: 180,
        sandboxMemory: "4GiB",
        sandboxCpus: 2,
        sandboxPids: 1024,
        onExit: "keep",
      }),
    kubernetes: z
      .object({
        kubeconfig: z.string().min(1).optional(),
        namespace: z.string().min(1).default("default"),
        workshopName: z.string().min(1).default("workshop"),
      })
      .default({ namespace: "default", workshopName: "workshop" }),
  })
  .refine((c) => c.workshop.maxLifetimeMinutes >= c.workshop.lifetimeMinutes, {
    path: ["workshop", "maxLifetimeMinutes"],
    message: "must be at least workshop.lifetimeMinutes",
  })
  .refine((c) => c.workshop.warmPool <= c.workshop.maxSandboxes, {
    path: ["workshop", "warmPool"],
    message: "cannot exceed workshop.maxSandboxes",
  });

export type LauncherConfigInput = z.input<typeof configSchema>;
export type LauncherConfig = z.infer<typeof configSchema> & {
  cookieSecret: string;
  organiserToken: string;
};

/** Environment variable → config path. Flags use the same names in kebab-case (`--max-sandboxes`). */
export const ENV_KEYS: Record<string, string> = {
  HOST: "host",
  PORT: "port",
  LAUNCHBAY_BACKEND: "backend",
  LAUNCHBAY_COOKIE_SECRET: "cookieSecret",
  LAUNCHBAY_ORGANISER_TOKEN: "organiserToken",
  LAUNCHBAY_TRUST_PROXY: "trustProxy",
  LAUNCHBAY_ALLOWED_ORIGINS: "allowedOrigins",
  LAUNCHBAY_PUBLIC_HOSTS: "publicHosts",
  LAUNCHBAY_SANDBOX_DOMAIN: "sandboxDomain",
  LAUNCHBAY_LOG_LEVEL: "logLevel",
  LAUNCHBAY_MAX_CONCURRENT_STARTS: "maxConcurrentStarts",
  LAUNCHBAY_WAITING_LINE_GRACE_SECONDS: "waitingLine.graceSeconds",
  LAUNCHBAY_WAITING_LINE_MAX: "waitingLine.max",
  LAUNCHBAY_RATE_LIMIT_IP_BURST: "rateLimitIp.burst",
  LAUNCHBAY_RATE_LIMIT_IP_PER_MINUTE: "rateLimitIp.perMinute",
  LAUNCHBAY_RATE_LIMIT_ATTENDEE_BURST: "rateLimitAttendee.burst",
  LAUNCHBAY_RATE_LIMIT_ATTENDEE_PER_MINUTE: "rateLimitAttendee.perMinute",
  LAUNCHBAY_NEW_IDENTITIES_PER_IP: "limits.newIdentitiesPerIp.max",
  LAUNCHBAY_NEW_IDENTITIES_PER_IP_WINDOW_SECONDS: "limits.newIdentitiesPerIp.windowSeconds",
  LAUNCHBAY_LAUNCHES_PER_IP: "limits.launchesPerIp.max",
  LAUNCHBAY_LAUNCHES_PER_IP_WINDOW_SECONDS: "limits.launchesPerIp.windowSeconds",
  LAUNCHBAY_ACCESS_CODE_PER_IP: "limits.accessCodePerIp.max",
  LAUNCHBAY_ACCESS_CODE_PER_IP_WINDOW_SECONDS: "limits.accessCodePerIp.windowSeconds",
  LAUNCHBAY_ACCESS_CODE_PER_WORKSHOP: "limits.accessCodePerWorkshop.max",
  LAUNCHBAY_ACCESS_CODE_PER_WORKSHOP_WINDOW_SECONDS: "limits.accessCodePerWorkshop.windowSeconds",
  LAUNCHBAY_ORGANISER_SIGN_IN_PER_IP: "limits.organiserSignInPerIp.max",
  LAUNCHBAY_ORGANISER_SIGN_IN_PER_IP_WINDOW_SECONDS: "limits.organiserSignInPerIp.windowSeconds",
  LAUNCHBAY_ORGANISER_SESSION_HOURS: "organiserSessionHours",
  LAUNCHBAY_DOWNLOAD_MAX_MIB: "downloadMaxMib",
  LAUNCHBAY_DOWNLOAD_MAX_FILES: "downloadMaxFiles",
  LAUNCHBAY_TITLE: "workshop.title",
  LAUNCHBAY_LIFETIME_MINUTES: "workshop.lifetimeMinutes",
  LAUNCHBAY_MAX_LIFETIME_MINUTES: "workshop.maxLifetimeMinutes",
  LAUNCHBAY_WARNING_MINUTES: "workshop.warningMinutes",
  LAUNCHBAY_MAX_SANDBOXES: "workshop.maxSandboxes",
  LAUNCHBAY_WARM_POOL: "workshop.warmPool",
  LAUNCHBAY_WORKERS: "workshop.workers",
  LAUNCHBAY_ACCESS_CODE: "workshop.accessCode",
  LAUNCHBAY_SANDBOXES_DIR: "local.sandboxesDir",
  LAUNCHBAY_ARCHIVES_DIR: "local.archivesDir",
  LAUNCHBAY_ARCHIVE_RETENTION_DAYS: "local.archiveRetentionDays",
  LAUNCHBAY_VENV: "local.venvDir",
  LAUNCHBAY_NOTEBOOKS_DIR: "local.notebooksDir",
  LAUNCHBAY_WORKER_THREADS: "local.workerThreads",
  LAUNCHBAY_WORKER_MEMORY_LIMIT: "local.workerMemoryLimit",
  LAUNCHBAY_START_TIMEOUT_SECONDS: "local.startTimeoutSeconds",
  LAUNCHBAY_SANDBOX_MEMORY: "local.sandboxMemory",
  LAUNCHBAY_SANDBOX_CPUS: "local.sandboxCpus",
  LAUNCHBAY_SANDBOX_PIDS: "local.sandboxPids",
  LAUNCHBAY_STATE_DIR: "local.stateDir",
  LAUNCHBAY_ON_EXIT: "local.onExit",
  LAUNCHBAY_KUBECONFIG: "kubernetes.kubeconfig",
  LAUNCHBAY_NAMESPACE: "kubernetes.namespace",
  LAUNCHBAY_WORKSHOP: "kubernetes.workshopName",
};

const FLAG_KEYS: Record<string, string> = Object.fromEntries(
  Object.entries(ENV_KEYS).map(([env, path]) => [
    env
      .replace(/^LAUNCHBAY_/, "")
      .toLowerCase()
      .replaceAll("_", "-"),
    path,
  ]),
);

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** `--help`: every flag with its environment variable (the table in web/README.md explains each). */
export function helpText(): string {
  const rows = Object.entries(ENV_KEYS).map(([env]) => {
    const flag = `--${env
      .replace(/^LAUNCHBAY_/, "")
      .toLowerCase()
      .replaceAll("_", "-")}`;
    return `  ${flag.padEnd(36)} ${env}`;
  });
  return [
    "usage: node web/dist/main.js [--flag value ...]",
    "",
    "Runs the launchbay launcher (local backend by default) on http://127.0.0.1:8080.",
    "Every flag can also be set with its environment variable; flags win.",
    "",
    `  ${"flag".padEnd(36)} environment variable`,
    ...rows,
    `  ${"--public-host NAME[:PORT]".padEnd(36)} (repeatable; adds to LAUNCHBAY_PUBLIC_HOSTS)`,
    "",
    "See web/README.md#configuration for what each setting does and its default.",
  ].join("\n");
}

/** Builds the raw config object from the environment and `--flag value` arguments (flags win). */
export function rawConfigFrom(
  env: Record<string, string | undefined>,
  argv: readonly string[],
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, value);
  }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      throw new LauncherError(
        "invalid-config",
        `unexpected argument "${arg}": flags look like --port 8080`,
      );
    }
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (name === "public-host") {
      // Repeatable: each --public-host adds one name to publicHosts.
      const value = inline ?? argv[i + 1];
      if (inline === undefined) i += 1;
      if (value === undefined || value.startsWith("--")) {
        throw new LauncherError(
          "invalid-config",
          "flag --public-host needs a value, like --public-host launchbay.example.org",
        );
      }
      const list = raw.publicHosts;
      raw.publicHosts = [
        ...(Array.isArray(list) ? list : typeof list === "string" ? list.split(",") : []),
        value,
      ];
      continue;
    }
    const path = FLAG_KEYS[name];
    if (!path) {
      throw new LauncherError(
        "invalid-config",
        `unknown flag --${name}; known flags: --public-host, ${Object.keys(FLAG_KEYS)
          .map((f) => `--${f}`)
          .join(", ")}`,
      );
    }
    const value = inline ?? argv[i + 1];
    if (inline === undefined) i += 1;
    if (value === undefined) {
      throw new LauncherError("invalid-config", `flag --${name} needs a value`);
    }
    setPath(raw, path, value);
  }
  return raw;
}

/** Turns zod issues into one readable sentence per problem. */
export function formatIssues(error: z.ZodError, prefix = ""): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      return `${prefix}${path || "(root)"}: ${issue.message}`;
    })
    .join("; ");
}

/** Validates a config object, filling in a random cookie secret and organiser token when absent. */
export function parseConfig(raw: unknown): LauncherConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new LauncherError(
      "invalid-config",
      `invalid launcher configuration: ${formatIssues(result.error)}`,
    );
  }
  return {
    ...result.data,
    cookieSecret: result.data.cookieSecret ?? randomBytes(32).toString("base64url"),
    organiserToken: result.data.organiserToken ?? randomBytes(24).toString("base64url"),
  };
}

/** The generated-or-given secrets are fine; report which ones were generated so main can log it. */
export function generatedSecrets(raw: Record<string, unknown>): string[] {
  return ["cookieSecret", "organiserToken"].filter((k) => raw[k] === undefined);
}
