import { parseArgs } from "node:util";
import { z } from "zod";
import {
  affinitySchema,
  networkPolicyPeerSchema,
  nodeSelectorSchema,
  priorityClassNameSchema,
  tolerationsSchema,
} from "./api/placement.js";
import { archiveS3OptionsShape } from "./api/archive-storage.js";
import { defaultText, formatFlagHelp, kebabFlag } from "./cli-help.js";
import { OperatorError } from "./errors.js";

/** A flag whose value is JSON checked by `schema` (tolerations, affinity). */
const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.infer<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `not JSON (${(error as Error).message})` });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({
          code: "custom",
          message: `${issue.path.join(".") || "value"}: ${issue.message}`,
        });
      }
      return z.NEVER;
    }
    return result.data;
  });

const labelsSchema = z.string().transform((text, ctx) => {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const [k, v, ...rest] = pair.split("=");
    if (!k || v === undefined || rest.length) {
      ctx.addIssue({ code: "custom", message: `'${pair}' is not key=value` });
      return z.NEVER;
    }
    labels[k.trim()] = v.trim();
  }
  return labels;
});

const durationMs = z.coerce.number().int().positive();

export const optionsSchema = z.object({
  kubeconfig: z.string().optional(),
  watchNamespace: z.string().optional(),
  schedulerImage: z.string().min(1).default("ghcr.io/launchbay/scheduler:0.1.0"),
  workerImage: z.string().min(1).default("ghcr.io/launchbay/worker:0.1.0"),
  notebookImage: z.string().min(1).default("ghcr.io/launchbay/notebook:0.1.0"),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
  launcherNamespace: z.string().min(1).default("launchbay"),
  launcherPodLabels: labelsSchema.default({ "app.kubernetes.io/component": "launcher" }),
  operatorNamespace: z.string().min(1).default("launchbay"),
  operatorPodLabels: labelsSchema.default({ "app.kubernetes.io/component": "operator" }),
  dnsNamespace: z.string().min(1).default("kube-system"),
  dnsPodLabels: labelsSchema.default({ "k8s-app": "kube-dns" }),
  sandboxNodeSelector: labelsSchema.pipe(nodeSelectorSchema).optional(),
  sandboxTolerations: jsonOf(tolerationsSchema).optional(),
  sandboxAffinity: jsonOf(affinitySchema).optional(),
  sandboxPriorityClassName: priorityClassNameSchema.optional(),
  concurrency: z.coerce.number().int().min(1).max(256).default(16),
  maxInflightRequests: z.coerce.number().int().min(1).max(1024).default(64),
  resyncSeconds: z.coerce.number().int().min(10).default(600),
  leaderElect: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  leaseName: z.string().min(1).default("launchbay-operator"),
  leaseNamespace: z.string().min(1).optional(),
  leaseDurationSeconds: z.coerce.number().int().min(2).default(15),
  renewDeadlineSeconds: z.coerce.number().int().min(1).default(10),
  retryPeriodSeconds: z.coerce.number().int().min(1).default(2),
  healthHost: z.string().default("127.0.0.1"),
  healthPort: z.coerce.number().int().min(0).max(65535).default(8081),
  metricsToken: z.string().min(16).optional(),
  idleProbeSeconds: durationMs.default(60),
  crashLimit: z.coerce.number().int().min(1).max(64).default(5),
  crashWindowSeconds: z.coerce.number().int().min(10).default(600),
  notebookUrlTemplate: z.string().default("http://notebook.{namespace}.svc:8888{basePath}"),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
  ...archiveS3OptionsShape,
  archiveEgressPeers: jsonOf(z.array(networkPolicyPeerSchema).min(1).max(64)).optional(),
  archiveEgressPort: z.coerce.number().int().min(1).max(65535).optional(),
  archiveGraceSeconds: z.coerce.number().int().min(5).max(3600).default(60),
  archiveSweepSeconds: z.coerce.number().int().min(10).default(3600),
});
export type OperatorOptions = z.infer<typeof optionsSchema>;

/**
 * flag name → env var, meaning, and (for a flag without a schema default) what happens
 * when it is not set. `--help` shows each with its default.
 */
export const FLAGS: Record<keyof OperatorOptions, { env: string; help: string; unset?: string }> = {
  kubeconfig: {
    env: "KUBECONFIG",
    help: "Kubeconfig file",
    unset: "none: the in-cluster config",
  },
  watchNamespace: {
    env: "LAUNCHBAY_WATCH_NAMESPACE",
    help: "Only Workshops/Sandboxes in this namespace",
    unset: "none: every namespace",
  },
  schedulerImage: { env: "LAUNCHBAY_SCHEDULER_IMAGE", help: "Default scheduler image" },
  workerImage: { env: "LAUNCHBAY_WORKER_IMAGE", help: "Default worker image" },
  notebookImage: { env: "LAUNCHBAY_NOTEBOOK_IMAGE", help: "Default notebook image" },
  imagePullPolicy: {
    env: "LAUNCHBAY_IMAGE_PULL_POLICY",
    help: "Pull policy of sandbox images: Always | IfNotPresent | Never",
  },
  launcherNamespace: {
    env: "LAUNCHBAY_LAUNCHER_NAMESPACE",
    help: "Namespace of the launcher (allowed into sandboxes)",
  },
  launcherPodLabels: {
    env: "LAUNCHBAY_LAUNCHER_POD_LABELS",
    help: "Labels of the launcher's pods, k=v,k=v",
  },
  operatorNamespace: {
    env: "LAUNCHBAY_OPERATOR_NAMESPACE",
    help: "Namespace of the operator (allowed to probe notebooks)",
  },
  operatorPodLabels: {
    env: "LAUNCHBAY_OPERATOR_POD_LABELS",
    help: "Labels of the operator's pods, k=v,k=v",
  },
  dnsNamespace: { env: "LAUNCHBAY_DNS_NAMESPACE", help: "Namespace of the cluster DNS pods" },
  dnsPodLabels: { env: "LAUNCHBAY_DNS_POD_LABELS", help: "Labels of the cluster DNS pods" },
  sandboxNodeSelector: {
    env: "LAUNCHBAY_SANDBOX_NODE_SELECTOR",
    help: "Default node selector of sandbox pods, k=v,k=v (a Workshop's placement wins)",
    unset: "none",
  },
  sandboxTolerations: {
    env: "LAUNCHBAY_SANDBOX_TOLERATIONS",
    help: "Default tolerations of sandbox pods, as a JSON list of Kubernetes tolerations",
    unset: "none",
  },
  sandboxAffinity: {
    env: "LAUNCHBAY_SANDBOX_AFFINITY",
    help: "Default affinity of sandbox pods, as a JSON Kubernetes affinity object",
    unset: "none",
  },
  sandboxPriorityClassName: {
    env: "LAUNCHBAY_SANDBOX_PRIORITY_CLASS_NAME",
    help: "Default PriorityClass of sandbox pods",
    unset: "none: the cluster's default priority",
  },
  concurrency: { env: "LAUNCHBAY_CONCURRENCY", help: "Sandboxes reconciled at once" },
  maxInflightRequests: {
    env: "LAUNCHBAY_MAX_INFLIGHT_REQUESTS",
    help: "Kubernetes API requests in flight at once",
  },
  resyncSeconds: { env: "LAUNCHBAY_RESYNC_SECONDS", help: "Re-reconcile everything this often" },
  leaderElect: {
    env: "LAUNCHBAY_LEADER_ELECT",
    help: "Use a Lease so one replica reconciles (true|false)",
  },
  leaseName: { env: "LAUNCHBAY_LEASE_NAME", help: "Name of the leader-election Lease" },
  leaseNamespace: {
    env: "LAUNCHBAY_LEASE_NAMESPACE",
    help: "Namespace of the leader-election Lease",
    unset:
      "in a pod its own namespace; out of cluster --operator-namespace when it exists, else default",
  },
  leaseDurationSeconds: {
    env: "LAUNCHBAY_LEASE_DURATION_SECONDS",
    help: "How long a silent leader keeps the lease",
  },
  renewDeadlineSeconds: {
    env: "LAUNCHBAY_RENEW_DEADLINE_SECONDS",
    help: "Give up leadership if not renewed within this",
  },
  retryPeriodSeconds: {
    env: "LAUNCHBAY_RETRY_PERIOD_SECONDS",
    help: "How often to try to acquire or renew",
  },
  healthHost: { env: "LAUNCHBAY_HEALTH_HOST", help: "Address for /healthz, /readyz, /metrics" },
  healthPort: {
    env: "LAUNCHBAY_HEALTH_PORT",
    help: "Port for /healthz, /readyz, /metrics (0 = any)",
  },
  metricsToken: {
    env: "LAUNCHBAY_METRICS_TOKEN",
    help: "Bearer token for /metrics (required unless on loopback)",
    unset: "none: /metrics only on a loopback --health-host",
  },
  idleProbeSeconds: {
    env: "LAUNCHBAY_IDLE_PROBE_SECONDS",
    help: "How often to ask notebooks for their last activity",
  },
  crashLimit: {
    env: "LAUNCHBAY_CRASH_LIMIT",
    help: "A sandbox turns Failed after this many container crashes within --crash-window-seconds",
  },
  crashWindowSeconds: {
    env: "LAUNCHBAY_CRASH_WINDOW_SECONDS",
    help: "The window of --crash-limit",
  },
  notebookUrlTemplate: {
    env: "LAUNCHBAY_NOTEBOOK_URL_TEMPLATE",
    help: "Notebook base URL; {namespace}, {name}, {basePath} are filled in",
  },
  logLevel: { env: "LAUNCHBAY_LOG_LEVEL", help: "Log level: trace | debug | info | warn | error" },
  archiveS3Bucket: {
    env: "LAUNCHBAY_ARCHIVE_S3_BUCKET",
    help: "Bucket (S3 API) keeping attendees' work after their sandbox ends",
    unset: "none: work is not archived on Kubernetes",
  },
  archiveS3Endpoint: {
    env: "LAUNCHBAY_ARCHIVE_S3_ENDPOINT",
    help: "S3 API endpoint, e.g. https://storage.googleapis.com (GCS) or a MinIO URL",
    unset: "AWS S3 of --archive-s3-region",
  },
  archiveS3Region: {
    env: "LAUNCHBAY_ARCHIVE_S3_REGION",
    help: "Region for request signing (GCS: auto)",
  },
  archiveS3Prefix: { env: "LAUNCHBAY_ARCHIVE_S3_PREFIX", help: "Key prefix of the archives" },
  archiveS3PathStyle: {
    env: "LAUNCHBAY_ARCHIVE_S3_PATH_STYLE",
    help: "Path-style URLs <endpoint>/<bucket>/<key> (true for MinIO)",
  },
  archiveS3AccessKeyId: {
    env: "LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID",
    help: "Access key id (GCS: an HMAC key); prefer the environment variable",
    unset: "none (required with a bucket)",
  },
  archiveS3SecretAccessKey: {
    env: "LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY",
    help: "Secret access key; prefer the environment variable",
    unset: "none (required with a bucket)",
  },
  archiveEgressPeers: {
    env: "LAUNCHBAY_ARCHIVE_EGRESS_PEERS",
    help: "Where notebook pods may connect to reach the storage, as a JSON list of NetworkPolicy peers",
    unset: "public addresses (private ranges and the metadata address excluded)",
  },
  archiveEgressPort: {
    env: "LAUNCHBAY_ARCHIVE_EGRESS_PORT",
    help: "The storage endpoint's port",
    unset: "the endpoint URL's port (443 for https)",
  },
  archiveGraceSeconds: {
    env: "LAUNCHBAY_ARCHIVE_GRACE_SECONDS",
    help: "Notebook pods' termination grace period (the archive is saved within it)",
  },
  archiveSweepSeconds: {
    env: "LAUNCHBAY_ARCHIVE_SWEEP_SECONDS",
    help: "How often archives past their workshop's retention are deleted",
  },
};

const kebab = (name: string) => kebabFlag(name).slice(2);

/** Parses CLI flags (`--scheduler-image x`), falling back to the env vars in FLAGS. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const names = Object.keys(FLAGS) as (keyof OperatorOptions)[];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(names.map((n) => [kebab(n), { type: "string" as const }])),
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new OperatorError("invalid-options", `${(error as Error).message}; see --help`);
  }
  if (values.help) throw new OperatorError("invalid-options", usage());
  const raw: Record<string, string> = {};
  for (const name of names) {
    const value = values[kebab(name)] ?? env[FLAGS[name].env];
    if (typeof value === "string" && value !== "") raw[name] = value;
  }
  const result = optionsSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `--${kebab(String(i.path[0]))}: ${i.message}`)
      .join("; ");
    throw new OperatorError("invalid-options", `invalid options: ${problems}; see --help`);
  }
  return result.data;
}

/** `--flag VALUE  meaning (default X) [env Y]`, the layout of every launchbay CLI's help. */
export function usage(): string {
  const defaults = optionsSchema.parse({}) as Record<string, unknown>;
  const rows = Object.entries(FLAGS).map(([name, { env, help, unset }]) => ({
    flag: kebabFlag(name),
    value: "VALUE",
    env,
    meaning: help,
    default: defaultText(defaults[name]) ?? unset ?? "none",
  }));
  return [
    "Usage: launchbay-operator [flags]",
    "",
    "Reconciles Workshop and Sandbox resources into per-sandbox namespaces; logs JSON to stdout.",
    "",
    "Flags (a flag wins over its environment variable):",
    ...formatFlagHelp(rows),
  ].join("\n");
}
