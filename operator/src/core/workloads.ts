import { LABELS, PORTS, SECRET_KEYS, SECRET_NAME, SERVICE_NAMES } from "../api/constants.js";
import type { SandboxTemplate } from "../api/workshop.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import { notebookBasePath } from "./names.js";
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

const tmpVolume = { name: "tmp", emptyDir: { sizeLimit: "1Gi" } };
const tmpMount = { name: "tmp", mountPath: "/tmp" };

interface WorkloadInput {
  ref: SandboxRef;
  namespace: string;
  template: SandboxTemplate;
  defaults: SandboxDefaults;
}

function deployment(
  input: WorkloadInput,
  name: string,
  component: Component,
  replicas: number,
  container: Record<string, unknown>,
  volumes: unknown[],
): KubeObject {
  const labels = childLabels(input.ref, component);
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
          terminationGracePeriodSeconds: 3,
          containers: [container],
          volumes,
        },
      },
    },
  };
}

/** Scheduler, workers and notebook Deployments of one sandbox. */
export function workloads(input: WorkloadInput): KubeObject[] {
  const { template, defaults, ref } = input;
  const sizes = componentSizes(template);
  const pull = defaults.imagePullPolicy;
  const extraEnv = template.env.map((e) => ({ name: e.name, value: e.value }));
  const schedulerUrl = `ws://${SERVICE_NAMES.scheduler}:${PORTS.scheduler}`;

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
      livenessProbe: {
        httpGet: { path: "/healthz", port: PORTS.scheduler },
        periodSeconds: 10,
        failureThreshold: 6,
      },
      resources: resourceRequirements(template.resources.scheduler),
      securityContext: containerSecurityContext(true),
      volumeMounts: [tmpMount],
    },
    [tmpVolume],
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
      resources: resourceRequirements(template.resources.worker),
      securityContext: containerSecurityContext(true),
      volumeMounts: [tmpMount],
    },
    [tmpVolume],
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
        secretEnv("LAUNCHBAY_TOKEN", SECRET_KEYS.runtimeToken),
        secretEnv("NOTEBOOK_TOKEN", SECRET_KEYS.notebookToken),
        ...extraEnv,
      ],
      ports: [{ name: "http", containerPort: PORTS.notebook, protocol: "TCP" }],
      // Jupyter's /api/status needs the token; a TCP check needs nothing.
      readinessProbe: { tcpSocket: { port: PORTS.notebook }, periodSeconds: 5 },
      resources: resourceRequirements(template.resources.notebook),
      // Jupyter writes notebooks, checkpoints and runtime files under its home directory.
      securityContext: containerSecurityContext(false),
      volumeMounts: [tmpMount],
    },
    [tmpVolume],
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
