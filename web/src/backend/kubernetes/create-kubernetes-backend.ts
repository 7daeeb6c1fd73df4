import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Store } from "@launchbay/archive";
import { isNotFound, KubeClient, type KubeConfig, loadKubeConfig as load } from "@launchbay/kube";
import {
  GROUP,
  parseWorkshop,
  VERSION,
  WORKSHOP_PLURAL,
  type Workshop,
  workshopLifetimes,
} from "@launchbay/operator/api";
import type { FastifyBaseLogger } from "fastify";
import type { LauncherConfig, WorkshopSettings } from "../../config.js";
import { LauncherError } from "../../errors.js";
import type { BuildAppOptions } from "../../app.js";
import { kubernetesSharedRecords } from "./lease-records.js";
import { KubernetesBackend } from "./kubernetes-backend.js";
import { S3WorkArchive } from "./s3-work-archive.js";
import { KubernetesSeatLedger } from "./seat-ledger.js";

export function loadKubeConfig(path: string | undefined): KubeConfig {
  try {
    return load(
      path,
      "default",
      "set LAUNCHBAY_KUBECONFIG to a kubeconfig file or run in a cluster",
    );
  } catch (err) {
    throw new LauncherError("invalid-config", (err as Error).message, { cause: err });
  }
}

/** The launcher's workshop settings from the Workshop resource (the organiser's values file). */
export async function workshopSettingsFrom(
  client: KubeClient,
  workshop: Workshop,
  fallback: WorkshopSettings,
): Promise<WorkshopSettings> {
  const spec = workshop.spec;
  const { lifetimeMs, maxLifetimeMs } = workshopLifetimes(spec);
  let accessCode: string | undefined;
  if (spec.access.mode === "accessCode" && spec.access.secretName) {
    const ns = workshop.metadata.namespace ?? "default";
    const secret = await client.get<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(spec.access.secretName)}`,
    );
    const raw = secret.data?.[spec.access.secretKey];
    if (!raw) {
      throw new LauncherError(
        "invalid-config",
        `the access-code Secret ${spec.access.secretName} has no key ${spec.access.secretKey}: add it or set access.mode to open`,
      );
    }
    accessCode = Buffer.from(raw, "base64").toString("utf8").trim();
  }
  return {
    ...fallback,
    title: spec.title,
    lifetimeMinutes: Math.max(1, Math.round(lifetimeMs / 60_000)),
    maxLifetimeMinutes: Math.max(1, Math.round(maxLifetimeMs / 60_000)),
    maxSandboxes: spec.maxSandboxes ?? fallback.maxSandboxes,
    warmPool: spec.warmPool,
    workers: spec.sandbox.workers,
    accessCode,
  };
}

/**
 * The read side of the work archive when object storage is configured (the same bucket and
 * prefix as the operator's), with the Workshop's retention as read at start.
 */
export function workArchiveFrom(
  config: LauncherConfig,
  workshop: Workshop,
  log: FastifyBaseLogger,
): S3WorkArchive | undefined {
  const k = config.kubernetes;
  if (!k.archiveS3Bucket) return undefined;
  if (!k.archiveS3AccessKeyId || !k.archiveS3SecretAccessKey) {
    throw new LauncherError(
      "invalid-config",
      "LAUNCHBAY_ARCHIVE_S3_BUCKET needs LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID and LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY (the chart sets them from archive.s3.existingSecret)",
    );
  }
  const store = new S3Store({
    ...(k.archiveS3Endpoint ? { endpoint: k.archiveS3Endpoint } : {}),
    region: k.archiveS3Region,
    bucket: k.archiveS3Bucket,
    prefix: k.archiveS3Prefix,
    accessKeyId: k.archiveS3AccessKeyId,
    secretAccessKey: k.archiveS3SecretAccessKey,
    forcePathStyle: k.archiveS3PathStyle,
  });
  return new S3WorkArchive({
    store,
    namespace: workshop.metadata.namespace ?? k.namespace,
    workshop: workshop.metadata.name,
    retentionMs: workshop.spec.archiveRetentionDays * 86_400_000,
    cacheDir: k.archiveCacheDir ?? join(tmpdir(), `launchbay-archives-${process.pid}`),
    log,
  });
}

/** Connects to the cluster, reads the Workshop and returns the backend plus the workshop's settings. */
export async function createKubernetesBackend(
  config: LauncherConfig,
  log: FastifyBaseLogger,
): Promise<{
  backend: KubernetesBackend;
  workshop: WorkshopSettings;
  /** For buildApp: what every replica must agree on, kept in the API. */
  shared: Pick<
    BuildAppOptions,
    "organiserSessions" | "handoverNonces" | "line" | "statsFromBackend"
  >;
  /** Stops the periodic sweep of expired records (after app.close()). */
  stopSweeping: () => void;
}> {
  const kc = loadKubeConfig(config.kubernetes.kubeconfig);
  const client = await KubeClient.create(kc);
  const { namespace, workshopName } = config.kubernetes;
  let raw: unknown;
  try {
    raw = await client.get(
      `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${WORKSHOP_PLURAL}/${encodeURIComponent(workshopName)}`,
    );
  } catch (err) {
    client.close();
    if (isNotFound(err)) {
      throw new LauncherError(
        "invalid-config",
        `there is no Workshop ${workshopName} in namespace ${namespace}: create it (helm install does) or set LAUNCHBAY_WORKSHOP`,
      );
    }
    throw new LauncherError(
      "invalid-config",
      `cannot reach the Kubernetes API: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const parsed = parseWorkshop(raw);
  if (!parsed.ok) {
    client.close();
    throw new LauncherError(
      "invalid-config",
      `the Workshop ${workshopName} is invalid: ${parsed.error}`,
    );
  }
  const workshop = await workshopSettingsFrom(client, parsed.workshop, config.workshop);
  const archive = workArchiveFrom(config, parsed.workshop, log);
  const backend = new KubernetesBackend({
    client,
    namespace,
    workshop: workshopName,
    workers: workshop.workers,
    log,
    ...(archive ? { archive } : {}),
  });
  const records = kubernetesSharedRecords(
    client,
    namespace,
    config.organiserSessionHours * 3_600_000,
    {
      now: Date.now,
      onSweepError: (err) => log.warn({ err }, "Sweeping expired session records failed"),
    },
  );
  const seats = new KubernetesSeatLedger(client, namespace, workshopName, log);
  try {
    await seats.start();
  } catch (err) {
    records.stop();
    client.close();
    throw new LauncherError(
      "invalid-config",
      `cannot read the workshop's seats (Leases in ${namespace}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    backend,
    workshop,
    shared: {
      organiserSessions: records.organiserSessions,
      handoverNonces: records.handoverNonces,
      line: seats,
      statsFromBackend: true,
    },
    stopSweeping: records.stop,
  };
}
