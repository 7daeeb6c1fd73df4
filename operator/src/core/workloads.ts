import { ARCHIVE_SECRET_NAME, ARCHIVE_URLS_DIR } from "@launchbay/archive";
import { LABELS, PORTS, SECRET_KEYS, SECRET_NAME, SERVICE_NAMES } from "../api/constants.js";
import type { Placement } from "../api/placement.js";
import { parseMemoryBytes } from "../api/quantity.js";
import type { SandboxTemplate } from "../api/workshop.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import { dashboardPath, notebookBasePath } from "./names.js";
import type { SandboxDefaults } from "./operator-config.js";
import { containerSecurityContext, podSecurityContext } from "./pod-security.js";
import {
  componentSizes,
  resourceRequirements,
  threadsPerWorker,
  workerMemoryLimit,
} from "./sizing.js";

export const SERVICE_ACCOUNT_NAME = "sandbox";

type Component = "scheduler" | "worker" | "notebook";

const secretEnv = (name: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: SECRET_NAME, key } },
});

/** The notebook image's tutorial folder: the work volume is mounted over it. */
export const NOTEBOOK_WORK_DIR = "/app/notebooks";
/** Where the archive container sees the same work volume. */
const ARCHIVE_WORK_DIR = "/work";
const NOTEBOOK_HOME = "/home/node";
/** Container logs and the like, beyond the volumes, in a container's ephemeral storage. */
const LOG_ALLOWANCE_MI = 64;

const emptyDir = (name: string, sizeLimit: string) => ({ name, emptyDir: { sizeLimit } });
const mount = (name: string, mountPath: string) => ({ name, mountPath });

/** requests = limits of ephemeral storage: the container's volumes plus its logs. */
function ephemeralStorage(...volumes: string[]): string {
  const bytes = volumes.reduce((sum, v) => sum + (parseMemoryBytes(v) ?? 0), 0);
  return `${Math.ceil(bytes / 1024 ** 2) + LOG_ALLOWANCE_MI}Mi`;
}

function withStorage(
  resources: ReturnType<typeof resourceRequirements>,
  storage: string,
): ReturnType<typeof resourceRequirements> & {
  requests: Record<string, string>;
  limits: Record<string, string>;
} {
  return {
    requests: { ...resources.requests, "ephemeral-storage": storage },
    limits: { ...resources.limits, "ephemeral-storage": storage },
  };
}

/** CPU and memory of the archive container (zips the work folder at the end). */
export const ARCHIVE_CONTAINER_RESOURCES = { cpu: "200m", memory: "128Mi" } as const;

/** Ephemeral storage a sandbox's pods may use in all (its ResourceQuota). */
export function sandboxEphemeralStorageBytes(template: SandboxTemplate, archive = false): number {
  const { work, scratch } = template.storage;
  const perContainer = (...v: string[]) => parseMemoryBytes(ephemeralStorage(...v)) ?? 0;
  // The archive container's scratch holds the zip of the work folder before upload.
  const archiveBytes = archive ? perContainer(work) : 0;
  return (
    perContainer(scratch) * (1 + template.workers) +
    perContainer(work, scratch, scratch) +
    archiveBytes
  );
}

interface WorkloadInput {
  ref: SandboxRef;
  namespace: string;
  template: SandboxTemplate;
  defaults: SandboxDefaults;
  /** Keep the attendee's work in object storage (an archive container beside the notebook). */
  archive?: boolean;
}

function deployment(
  input: WorkloadInput,
  name: string,
  component: Component,
  replicas: number,
  container: Record<string, unknown>,
  volumes: unknown[],
  initContainers: Record<string, unknown>[] = [],
  extra: { sidecars?: Record<string, unknown>[]; graceSeconds?: number } = {},
): KubeObject {
  const labels = childLabels(input.ref, component);
  const placement = effectivePlacement(input.template.placement, input.defaults.placement);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      replicas,
      // Recreate: the ResourceQuota is sized for exactly the template's pods, no surge.
      strategy: { type: "Recreate" },
      revisionHistoryLimit: 2,
      selector: { matchLabels: { [LABELS.component]: component } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: SERVICE_ACCOUNT_NAME,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          // Short, so an expiring sandbox's namespace goes within seconds (the namespace
          // controller waits out the longest grace period before checking again).
          // The archive container (when there is one) saves the work within its own grace.
          terminationGracePeriodSeconds: extra.graceSeconds ?? 3,
          ...placement,
          ...(initContainers.length ? { initContainers } : {}),
          containers: [container, ...(extra.sidecars ?? [])],
          volumes,
        },
      },
    },
  };
}

/** The Workshop's placement, field by field over the operator's default. */
export function effectivePlacement(
  workshop: Placement | undefined,
  defaults: Placement | undefined,
): Placement {
  const out: Placement = {};
  for (const key of ["nodeSelector", "tolerations", "affinity", "priorityClassName"] as const) {
    const value = workshop?.[key] ?? defaults?.[key];
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Scheduler, workers and notebook Deployments of one sandbox. */
export function workloads(input: WorkloadInput): KubeObject[] {
  const { template, defaults, ref } = input;
  const sizes = componentSizes(template);
  const pull = defaults.imagePullPolicy;
  const extraEnv = template.env.map((e) => ({ name: e.name, value: e.value }));
  const schedulerUrl = `ws://${SERVICE_NAMES.scheduler}:${PORTS.scheduler}`;
  const { work, scratch } = template.storage;
  const archive = input.archive === true && defaults.archive !== undefined;

  const scheduler = deployment(
    input,
    "scheduler",
    "scheduler",
    1,
    {
      name: "scheduler",
      image: template.images.scheduler ?? defaults.images.scheduler,
      imagePullPolicy: pull,
      command: ["launchbay-scheduler", "--host", "0.0.0.0", "--port", String(PORTS.scheduler)],
      env: [secretEnv("LAUNCHBAY_TOKEN", SECRET_KEYS.runtimeToken)],
      ports: [{ name: "http", containerPort: PORTS.scheduler, protocol: "TCP" }],
      readinessProbe: {
        httpGet: { path: "/healthz", port: PORTS.scheduler },
        periodSeconds: 5,
        failureThreshold: 3,
      },
      // Readiness asks the HTTP server; liveness only restarts a scheduler whose port is
      // gone for a minute (a busy scheduler answering slowly must not be killed).
      livenessProbe: {
        tcpSocket: { port: PORTS.scheduler },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 6,
      },
      resources: withStorage(
        resourceRequirements(template.resources.scheduler),
        ephemeralStorage(scratch),
      ),
      securityContext: containerSecurityContext(true),
      volumeMounts: [mount("tmp", "/tmp")],
    },
    [emptyDir("tmp", scratch)],
  );

  const workers = deployment(
    input,
    "workers",
    "worker",
    template.workers,
    {
      name: "worker",
      image: template.images.worker ?? defaults.images.worker,
      imagePullPolicy: pull,
      command: ["launchbay-worker", schedulerUrl],
      env: [
        secretEnv("LAUNCHBAY_TOKEN", SECRET_KEYS.runtimeToken),
        { name: "LAUNCHBAY_NTHREADS", value: String(threadsPerWorker(template, sizes.worker)) },
        { name: "LAUNCHBAY_MEMORY_LIMIT", value: workerMemoryLimit(sizes.worker) },
        { name: "LAUNCHBAY_WORKER_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "LAUNCHBAY_WORKER_PORT", value: String(PORTS.worker) },
        {
          name: "LAUNCHBAY_ADVERTISE_HOST",
          valueFrom: { fieldRef: { fieldPath: "status.podIP" } },
        },
        ...extraEnv,
      ],
      ports: [{ name: "peer", containerPort: PORTS.worker, protocol: "TCP" }],
      readinessProbe: { tcpSocket: { port: PORTS.worker }, periodSeconds: 5 },
      livenessProbe: {
        tcpSocket: { port: PORTS.worker },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 6,
      },
      resources: withStorage(
        resourceRequirements(template.resources.worker),
        ephemeralStorage(scratch),
      ),
      securityContext: containerSecurityContext(true),
      volumeMounts: [mount("tmp", "/tmp")],
    },
    [emptyDir("tmp", scratch)],
  );

  const base = notebookBasePath(ref.name);
  const notebook = deployment(
    input,
    "notebook",
    "notebook",
    1,
    {
      name: "notebook",
      image: template.images.notebook ?? defaults.images.notebook,
      imagePullPolicy: pull,
      command: [
        "jupyter",
        "lab",
        "--ip=0.0.0.0",
        `--port=${PORTS.notebook}`,
        `--ServerApp.base_url=${base}`,
        "--IdentityProvider.token=$(NOTEBOOK_TOKEN)",
        "--no-browser",
      ],
      env: [
        { name: "LAUNCHBAY_SCHEDULER", value: schedulerUrl },
        { name: "LAUNCHBAY_DASHBOARD_URL", value: dashboardPath(ref.name) },
        secretEnv("LAUNCHBAY_TOKEN", SECRET_KEYS.runtimeToken),
        secretEnv("NOTEBOOK_TOKEN", SECRET_KEYS.notebookToken),
        ...extraEnv,
      ],
      ports: [{ name: "http", containerPort: PORTS.notebook, protocol: "TCP" }],
      // `<base>api` answers Jupyter's version without a token and without counting as
      // activity; liveness only restarts a server whose port is gone for two minutes.
      readinessProbe: { httpGet: { path: `${base}api`, port: PORTS.notebook }, periodSeconds: 5 },
      livenessProbe: {
        tcpSocket: { port: PORTS.notebook },
        periodSeconds: 20,
        timeoutSeconds: 5,
        failureThreshold: 6,
      },
      resources: withStorage(
        resourceRequirements(template.resources.notebook),
        ephemeralStorage(work, scratch, scratch),
      ),
      // Read-only root: Jupyter writes only the attendee's work folder (over the image's
      // tutorial folder, seeded from it), its home (settings, runtime files) and /tmp.
      securityContext: containerSecurityContext(true),
      volumeMounts: [
        mount("work", NOTEBOOK_WORK_DIR),
        mount("home", NOTEBOOK_HOME),
        mount("tmp", "/tmp"),
      ],
    },
    [
      emptyDir("work", work),
      emptyDir("home", scratch),
      emptyDir("tmp", scratch),
      ...(archive
        ? [
            emptyDir("archive-tmp", work),
            // optional: a warm-pool sandbox has no owner (no Secret) until it is claimed;
            // the kubelet then projects the Secret's files into the running container.
            { name: "archive-urls", secret: { secretName: ARCHIVE_SECRET_NAME, optional: true } },
          ]
        : []),
    ],
    [
      {
        // Copies the image's tutorial notebooks into the (empty) work volume once.
        name: "seed-work",
        image: template.images.notebook ?? defaults.images.notebook,
        imagePullPolicy: pull,
        // -R, not -a: preserving attributes onto the volume root (owned by root) is refused.
        command: ["cp", "-R", `${NOTEBOOK_WORK_DIR}/.`, "/seed/"],
        resources: withStorage(
          resourceRequirements(template.resources.notebook),
          ephemeralStorage(),
        ),
        securityContext: containerSecurityContext(true),
        volumeMounts: [mount("work", "/seed")],
      },
    ],
    archive
      ? {
          sidecars: [
            {
              // Restores the owner's archived work into the work folder (once its URL is
              // there) and, on SIGTERM when the sandbox goes, zips the folder and PUTs it
              // to the owner's presigned URL. Always the operator's notebook image (it
              // ships launchbay-work-archive), whatever image the workshop's notebook uses.
              name: "work-archive",
              image: defaults.images.notebook,
              imagePullPolicy: pull,
              command: [
                "launchbay-work-archive",
                "keep",
                "--dir",
                ARCHIVE_WORK_DIR,
                "--urls",
                ARCHIVE_URLS_DIR,
                "--marker",
                "/tmp/.launchbay-restored",
              ],
              env: [{ name: "TMPDIR", value: "/tmp" }],
              resources: withStorage(
                resourceRequirements(ARCHIVE_CONTAINER_RESOURCES),
                ephemeralStorage(work),
              ),
              securityContext: containerSecurityContext(true),
              volumeMounts: [
                mount("work", ARCHIVE_WORK_DIR),
                mount("archive-tmp", "/tmp"),
                { name: "archive-urls", mountPath: ARCHIVE_URLS_DIR, readOnly: true },
              ],
            },
          ],
          graceSeconds: defaults.archive?.graceSeconds ?? 60,
        }
      : {},
  );

  return [scheduler, workers, notebook];
}

/** The Services in front of the scheduler, workers (headless) and notebook. */
export function services(input: Omit<WorkloadInput, "template" | "defaults">): KubeObject[] {
  const svc = (
    name: string,
    component: Component,
    port: number,
    headless: boolean,
  ): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: input.namespace, labels: childLabels(input.ref, component) },
    spec: {
      ...(headless
        ? { clusterIP: "None", publishNotReadyAddresses: false }
        : { type: "ClusterIP" }),
      selector: { [LABELS.component]: component },
      ports: [{ name: "tcp", port, targetPort: port, protocol: "TCP" }],
    },
  });
  return [
    svc(SERVICE_NAMES.scheduler, "scheduler", PORTS.scheduler, false),
    svc(SERVICE_NAMES.workers, "worker", PORTS.worker, true),
    svc(SERVICE_NAMES.notebook, "notebook", PORTS.notebook, false),
  ];
}
