import { chartDir, helm, type RunResult, valuesFile } from "../helm/chart-tools.js";

/** The launcher's host name in the real-node tests, and its sandboxes' domain (`<id>.<sandboxDomain>`). */
export const launcherHost = "workshop.launchbay.test";
export const sandboxDomain = "sandboxes.launchbay.test";

/** CPU and memory per sandbox component (request = limit), as the Workshop takes them. */
export type SandboxResources = Record<
  "scheduler" | "worker" | "notebook",
  { cpu: string; memory: string }
>;

/**
 * Small enough for this 2-core node (a default sandbox asks ~4.5 CPUs): tens of
 * millicores, still real containers.
 */
export const smallSandbox: SandboxResources = {
  scheduler: { cpu: "50m", memory: "192Mi" },
  worker: { cpu: "50m", memory: "192Mi" },
  notebook: { cpu: "200m", memory: "768Mi" },
};

/**
 * `helm install` of the chart with the images of `npm run images` (`imageValues`), one
 * operator and one launcher with small requests, the launcher answering as
 * `launcherHost` with sandboxes at `<id>.<sandboxDomain>`. Returns helm's result (the
 * caller checks it) and a disposer for the values file.
 */
export async function installChart(options: {
  release: string;
  namespace: string;
  /** The API server's URL: in-cluster clients reach it on its own port after the Service's DNAT. */
  server: string;
  imageValues: string;
  helmEnv: NodeJS.ProcessEnv;
  sandbox?: SandboxResources;
  /**
   * Archive attendees' work to this S3 API server (MinIO on this machine): the notebook
   * pods, the operator and the launcher may reach exactly `address`:`port`.
   */
  archive?: {
    endpoint: string;
    bucket: string;
    prefix: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
}): Promise<{ result: RunResult; dispose: () => Promise<void> }> {
  const apiServerPorts = [443, Number(new URL(options.server).port)];
  const small = {
    requests: { cpu: "20m", memory: "96Mi" },
    limits: { cpu: "1", memory: "384Mi" },
  };
  const storage = options.archive ? new URL(options.archive.endpoint) : undefined;
  const overrides = await valuesFile({
    operator: {
      replicas: 1,
      resources: small,
      podDisruptionBudget: { enabled: false },
      networkPolicy: { apiServerPorts },
    },
    web: {
      replicas: 1,
      resources: small,
      podDisruptionBudget: { enabled: false },
      networkPolicy: { apiServerPorts },
      // Chromium reaches the launcher by these names (mapped to its Service's ClusterIP).
      publicHosts: [launcherHost],
      sandboxDomain,
    },
    workshop: { sandbox: { resources: options.sandbox ?? smallSandbox } },
    ...(options.archive && storage
      ? {
          archive: {
            enabled: true,
            s3: {
              endpoint: options.archive.endpoint,
              region: "us-east-1",
              bucket: options.archive.bucket,
              prefix: options.archive.prefix,
              pathStyle: true,
              accessKeyId: options.archive.accessKeyId,
              secretAccessKey: options.archive.secretAccessKey,
            },
            egress: [{ ipBlock: { cidr: `${storage.hostname}/32` } }],
            port: Number(storage.port),
          },
        }
      : {}),
  });
  const result = await helm(
    [
      "install",
      options.release,
      chartDir,
      "-n",
      options.namespace,
      "-f",
      options.imageValues,
      "-f",
      overrides.path,
      "--wait",
      "--timeout",
      "240s",
    ],
    options.helmEnv,
  );
  return { result, dispose: overrides.dispose };
}
