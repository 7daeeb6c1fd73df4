import { randomBytes } from "node:crypto";
import { isAbsolute } from "node:path";
import { archiveS3OptionsShape, parseDuration, WORKSHOP_DEFAULTS } from "@launchbay/operator/api";
import { defaultText, formatFlagHelp, kebabFlag } from "@launchbay/operator/cli-help";
import { z } from "zod";
import { LauncherError } from "./errors.js";

const LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const DOMAIN_PATTERN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const PUBLIC_HOST_PATTERN = new RegExp(
  `^(${LABEL}(\\.${LABEL})*|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?$`,
);

const positiveInt = z.coerce.number().int().positive();
const minutesOf = (duration: string) => (parseDuration(duration) ?? 0) / 60_000;

/**
 * The workshop as attendees experience it. Lifetimes, warm pool and workers default to the
 * Workshop resource's defaults (the chart's too); `maxSandboxes` is capped at 20 here
 * because one machine runs them all (the Workshop has no cap, the chart sets 50).
 */
export const workshopSettingsSchema = z.object({
  title: z.string().min(1).max(200).default("Parallel computing workshop"),
  lifetimeMinutes: positiveInt.max(7 * 24 * 60).default(minutesOf(WORKSHOP_DEFAULTS.lifetime)),
  maxLifetimeMinutes: positiveInt
    .max(7 * 24 * 60)
    .default(minutesOf(WORKSHOP_DEFAULTS.maxLifetime)),
  /** Expire an attendee's sandbox nobody used for this long; never when unset (the Workshop's default). */
  idleTimeoutMinutes: positiveInt.max(7 * 24 * 60).optional(),
  warningMinutes: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(10),
  maxSandboxes: positiveInt.max(100_000).default(20),
  warmPool: z.coerce.number().int().min(0).max(10_000).default(WORKSHOP_DEFAULTS.warmPool),
  workers: positiveInt.max(64).default(WORKSHOP_DEFAULTS.workers),
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
    /** auto: readable and quiet on a terminal (stdout a TTY), JSON lines otherwise. */
    logFormat: z.enum(["auto", "json", "pretty"]).default("auto"),
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
    /**
     * The save bridge: how long Download and a sandbox's stop (expiry, Expire, idle
     * timeout) wait for its open JupyterLab tabs to save every document; 0 turns it off.
     */
    saveOpenDocumentsSeconds: z.coerce.number().int().min(0).max(60).default(5),
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
        /**
         * How many launcher replicas serve the workshop (the chart passes web.replicas).
         * Each replica enforces 1/replicas of every rate limit, so together they never
         * allow more than the limit, however the load balancer spreads the requests.
         */
        replicas: z.coerce.number().int().min(1).max(100).default(1),
        /** Object storage (S3 API) the operator archives attendees' work to; unset: none. */
        ...archiveS3OptionsShape,
        /** Where downloaded archives are unpacked for "Download my saved work" (a cache). */
        archiveCacheDir: z.string().min(1).optional(),
      })
      .default({
        namespace: "default",
        workshopName: "workshop",
        replicas: 1,
        archiveS3Region: "us-east-1",
        archiveS3Prefix: "launchbay/",
        archiveS3PathStyle: false,
      }),
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

/**
 * Every setting: environment variable → config path, what it does, and (when the schema
 * has no default) what happens when it is not set. Flags use the same names in kebab-case
 * without `LAUNCHBAY_` (`--max-sandboxes`); `--help` shows each with its default.
 */
export const SETTINGS: Record<string, { path: string; meaning: string; unset?: string }> = {
  HOST: { path: "host", meaning: "bind address" },
  PORT: { path: "port", meaning: "port (0 = any)" },
  LAUNCHBAY_BACKEND: { path: "backend", meaning: "local or kubernetes" },
  LAUNCHBAY_COOKIE_SECRET: {
    path: "cookieSecret",
    meaning: "signs cookies (at least 32 characters)",
    unset: "local: generated once, kept in the state dir; kubernetes: random",
  },
  LAUNCHBAY_ORGANISER_TOKEN: {
    path: "organiserToken",
    meaning: "token for /admin and the admin API (at least 16 characters)",
    unset: "generated, shown once on the terminal or written to a 0600 file",
  },
  LAUNCHBAY_TRUST_PROXY: {
    path: "trustProxy",
    meaning: "proxies whose X-Forwarded-* to believe: a hop count (1) or addresses/CIDRs",
  },
  LAUNCHBAY_ALLOWED_ORIGINS: {
    path: "allowedOrigins",
    meaning: "extra origins allowed to change state, comma-separated",
  },
  LAUNCHBAY_PUBLIC_HOSTS: {
    path: "publicHosts",
    meaning: "host names (name or name:port) the launcher answers for; others get 421",
    unset: "localhost, 127.0.0.1, [::1] with the listening port",
  },
  LAUNCHBAY_SANDBOX_DOMAIN: {
    path: "sandboxDomain",
    meaning: "sandbox <id> is served at <id>.<domain> (wildcard DNS to the launcher)",
  },
  LAUNCHBAY_LOG_LEVEL: { path: "logLevel", meaning: "fatal|error|warn|info|debug|trace|silent" },
  LAUNCHBAY_LOG_FORMAT: {
    path: "logFormat",
    meaning: "auto: readable and quiet on a terminal, JSON otherwise; or json, pretty",
  },
  LAUNCHBAY_WAITING_LINE_GRACE_SECONDS: {
    path: "waitingLine.graceSeconds",
    meaning: "how long an attendee who left the launch page keeps their place in the waiting line",
  },
  LAUNCHBAY_WAITING_LINE_MAX: {
    path: "waitingLine.max",
    meaning: "the most attendees in the waiting line; past it a launch answers 409 workshop-full",
  },
  LAUNCHBAY_MAX_CONCURRENT_STARTS: {
    path: "maxConcurrentStarts",
    meaning: "launches handed to the backend at once; the rest wait in line",
  },
  LAUNCHBAY_RATE_LIMIT_IP_BURST: {
    path: "rateLimitIp.burst",
    meaning: "per-IP requests per window",
  },
  LAUNCHBAY_RATE_LIMIT_IP_PER_MINUTE: {
    path: "rateLimitIp.perMinute",
    meaning: "per-IP refill rate per minute",
  },
  LAUNCHBAY_RATE_LIMIT_ATTENDEE_BURST: {
    path: "rateLimitAttendee.burst",
    meaning: "per-attendee requests per window",
  },
  LAUNCHBAY_RATE_LIMIT_ATTENDEE_PER_MINUTE: {
    path: "rateLimitAttendee.perMinute",
    meaning: "per-attendee refill rate per minute",
  },
  LAUNCHBAY_NEW_IDENTITIES_PER_IP: {
    path: "limits.newIdentitiesPerIp.max",
    meaning: "identity cookies issued per address per window",
  },
  LAUNCHBAY_NEW_IDENTITIES_PER_IP_WINDOW_SECONDS: {
    path: "limits.newIdentitiesPerIp.windowSeconds",
    meaning: "that window, in seconds",
  },
  LAUNCHBAY_LAUNCHES_PER_IP: {
    path: "limits.launchesPerIp.max",
    meaning: "new sandboxes per address per window",
  },
  LAUNCHBAY_LAUNCHES_PER_IP_WINDOW_SECONDS: {
    path: "limits.launchesPerIp.windowSeconds",
    meaning: "that window, in seconds",
  },
  LAUNCHBAY_ACCESS_CODE_PER_IP: {
    path: "limits.accessCodePerIp.max",
    meaning: "access-code attempts per address per window",
  },
  LAUNCHBAY_ACCESS_CODE_PER_IP_WINDOW_SECONDS: {
    path: "limits.accessCodePerIp.windowSeconds",
    meaning: "that window, in seconds",
  },
  LAUNCHBAY_ACCESS_CODE_PER_WORKSHOP: {
    path: "limits.accessCodePerWorkshop.max",
    meaning: "access-code attempts from everyone per window",
  },
  LAUNCHBAY_ACCESS_CODE_PER_WORKSHOP_WINDOW_SECONDS: {
    path: "limits.accessCodePerWorkshop.windowSeconds",
    meaning: "that window, in seconds",
  },
  LAUNCHBAY_ORGANISER_SIGN_IN_PER_IP: {
    path: "limits.organiserSignInPerIp.max",
    meaning: "wrong organiser tokens per address before the doubling wait",
  },
  LAUNCHBAY_ORGANISER_SIGN_IN_PER_IP_WINDOW_SECONDS: {
    path: "limits.organiserSignInPerIp.windowSeconds",
    meaning: "that window, in seconds",
  },
  LAUNCHBAY_SAVE_OPEN_DOCUMENTS_SECONDS: {
    path: "saveOpenDocumentsSeconds",
    meaning: "how long Download and a sandbox's stop wait for its JupyterLab tabs to save (0: off)",
  },
  LAUNCHBAY_ORGANISER_SESSION_HOURS: {
    path: "organiserSessionHours",
    meaning: "an organiser session's lifetime, in hours",
  },
  LAUNCHBAY_DOWNLOAD_MAX_MIB: {
    path: "downloadMaxMib",
    meaning: 'the most "Download my work" zips, in MiB',
  },
  LAUNCHBAY_DOWNLOAD_MAX_FILES: { path: "downloadMaxFiles", meaning: "the most files it zips" },
  LAUNCHBAY_TITLE: { path: "workshop.title", meaning: "workshop title" },
  LAUNCHBAY_LIFETIME_MINUTES: {
    path: "workshop.lifetimeMinutes",
    meaning: "a sandbox's life after launch, in minutes",
  },
  LAUNCHBAY_MAX_LIFETIME_MINUTES: {
    path: "workshop.maxLifetimeMinutes",
    meaning: "cap on a sandbox's life including extensions, in minutes",
  },
  LAUNCHBAY_IDLE_TIMEOUT_MINUTES: {
    path: "workshop.idleTimeoutMinutes",
    meaning: "local: expire a sandbox no page or API request reached for this long, in minutes",
    unset: "none: never (the Workshop's default)",
  },
  LAUNCHBAY_WARNING_MINUTES: {
    path: "workshop.warningMinutes",
    meaning: "minutes before expiry the page warns",
  },
  LAUNCHBAY_MAX_SANDBOXES: {
    path: "workshop.maxSandboxes",
    meaning: "attendee sandboxes at once",
  },
  LAUNCHBAY_WARM_POOL: {
    path: "workshop.warmPool",
    meaning: "local: unclaimed sandboxes kept started (at most max sandboxes)",
  },
  LAUNCHBAY_WORKERS: { path: "workshop.workers", meaning: "workers per sandbox" },
  LAUNCHBAY_ACCESS_CODE: {
    path: "workshop.accessCode",
    meaning: "ask attendees for this code",
    unset: "none: open to anyone with the link",
  },
  LAUNCHBAY_SANDBOXES_DIR: {
    path: "local.sandboxesDir",
    meaning: "local: sandboxes' working directories",
    unset: "~/.cache/launchbay/sandboxes",
  },
  LAUNCHBAY_ARCHIVES_DIR: {
    path: "local.archivesDir",
    meaning: "local: attendees' work kept after their sandbox ends",
    unset: "archives beside the sandboxes dir",
  },
  LAUNCHBAY_ARCHIVE_RETENTION_DAYS: {
    path: "local.archiveRetentionDays",
    meaning: "local: days saved work is kept and restored (0: none kept)",
  },
  LAUNCHBAY_VENV: {
    path: "local.venvDir",
    meaning: "local: the Python venv with JupyterLab",
    unset: "the one scripts/setup.sh made in ~/.cache/launchbay",
  },
  LAUNCHBAY_NOTEBOOKS_DIR: {
    path: "local.notebooksDir",
    meaning: "local: notebooks copied into each sandbox",
    unset: "web/notebooks",
  },
  LAUNCHBAY_WORKER_THREADS: {
    path: "local.workerThreads",
    meaning: "local: --nthreads per worker",
  },
  LAUNCHBAY_WORKER_MEMORY_LIMIT: {
    path: "local.workerMemoryLimit",
    meaning: "local: --memory-limit per worker",
  },
  LAUNCHBAY_START_TIMEOUT_SECONDS: {
    path: "local.startTimeoutSeconds",
    meaning: "local: a start not Ready by then is Failed",
  },
  LAUNCHBAY_SANDBOX_MEMORY: {
    path: "local.sandboxMemory",
    meaning: "local as root: memory of each sandbox's cgroup",
  },
  LAUNCHBAY_SANDBOX_CPUS: {
    path: "local.sandboxCpus",
    meaning: "local as root: cores of each sandbox's cgroup",
  },
  LAUNCHBAY_SANDBOX_PIDS: {
    path: "local.sandboxPids",
    meaning: "local as root: processes and threads per sandbox (at least 64)",
  },
  LAUNCHBAY_STATE_DIR: {
    path: "local.stateDir",
    meaning: "local: database, secrets, service logs (absolute path)",
    unset: "~/.cache/launchbay",
  },
  LAUNCHBAY_ON_EXIT: {
    path: "local.onExit",
    meaning: "local: keep sandboxes running for the next launcher, or stop them",
  },
  LAUNCHBAY_KUBECONFIG: {
    path: "kubernetes.kubeconfig",
    meaning: "kubernetes: kubeconfig file",
    unset: "in-cluster config, else ~/.kube/config",
  },
  LAUNCHBAY_NAMESPACE: {
    path: "kubernetes.namespace",
    meaning: "kubernetes: namespace of the Workshop and its Sandboxes",
  },
  LAUNCHBAY_WORKSHOP: {
    path: "kubernetes.workshopName",
    meaning: "kubernetes: the Workshop's name",
  },
  LAUNCHBAY_REPLICAS: {
    path: "kubernetes.replicas",
    meaning:
      "kubernetes: how many launcher replicas serve the workshop; each enforces its share of every rate limit",
  },
  LAUNCHBAY_ARCHIVE_S3_BUCKET: {
    path: "kubernetes.archiveS3Bucket",
    meaning: "kubernetes: bucket (S3 API) the operator archives attendees' work to",
    unset: "none: no saved work to download",
  },
  LAUNCHBAY_ARCHIVE_S3_ENDPOINT: {
    path: "kubernetes.archiveS3Endpoint",
    meaning: "kubernetes: S3 API endpoint (https://storage.googleapis.com for GCS)",
    unset: "AWS S3 of the region",
  },
  LAUNCHBAY_ARCHIVE_S3_REGION: {
    path: "kubernetes.archiveS3Region",
    meaning: "kubernetes: region for request signing (GCS: auto)",
  },
  LAUNCHBAY_ARCHIVE_S3_PREFIX: {
    path: "kubernetes.archiveS3Prefix",
    meaning: "kubernetes: key prefix of the archives (as the operator's)",
  },
  LAUNCHBAY_ARCHIVE_S3_PATH_STYLE: {
    path: "kubernetes.archiveS3PathStyle",
    meaning: "kubernetes: path-style URLs (true for MinIO)",
  },
  LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID: {
    path: "kubernetes.archiveS3AccessKeyId",
    meaning: "kubernetes: access key id (GCS: an HMAC key)",
    unset: "none (required with a bucket)",
  },
  LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY: {
    path: "kubernetes.archiveS3SecretAccessKey",
    meaning: "kubernetes: secret access key",
    unset: "none (required with a bucket)",
  },
  LAUNCHBAY_ARCHIVE_CACHE_DIR: {
    path: "kubernetes.archiveCacheDir",
    meaning: "kubernetes: where downloaded archives are unpacked (a cache)",
    unset: "a folder in the temporary directory",
  },
};

/** Environment variable → config path. */
export const ENV_KEYS: Record<string, string> = Object.fromEntries(
  Object.entries(SETTINGS).map(([env, { path }]) => [env, path]),
);

/** `LAUNCHBAY_MAX_SANDBOXES` → `--max-sandboxes`. */
const flagOf = (env: string) => kebabFlag(env.replace(/^LAUNCHBAY_/, ""));

const FLAG_KEYS: Record<string, string> = Object.fromEntries(
  Object.entries(ENV_KEYS).map(([env, path]) => [flagOf(env).slice(2), path]),
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

function getPath(source: unknown, path: string): unknown {
  let node = source;
  for (const part of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** `--help`: every flag with its environment variable, default and meaning. */
export function helpText(): string {
  const defaults = configSchema.parse({});
  const rows = Object.entries(SETTINGS).map(([env, { path, meaning, unset }]) => ({
    flag: flagOf(env),
    value: "VALUE",
    env,
    meaning,
    default: unset ?? defaultText(getPath(defaults, path)) ?? "none",
  }));
  rows.splice(rows.findIndex((r) => r.env === "LAUNCHBAY_PUBLIC_HOSTS") + 1, 0, {
    flag: "--public-host",
    value: "NAME[:PORT]",
    env: "LAUNCHBAY_PUBLIC_HOSTS",
    meaning: "one more public host name (repeatable; adds to --public-hosts)",
    default: "none",
  });
  return [
    "usage: node web/dist/main.js [--flag value ...]",
    "",
    "Runs the launchbay launcher (local backend by default) on http://127.0.0.1:8080.",
    "More on each setting: web/README.md#configuration.",
    "",
    "Flags (a flag wins over its environment variable):",
    ...formatFlagHelp(rows),
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
