/**
 * launchbay-operator: reconciles Workshops and Sandboxes. Flags (or env vars) are listed
 * by `--help`; see operator/README.md.
 */
import { readFileSync } from "node:fs";
import { KubeClient, KubeError, LeaderElector, loadKubeConfig } from "@launchbay/kube";
import { archiveSettings } from "./archive-settings.js";
import { Controllers } from "./controller/operator.js";
import { startHealthServer } from "./controller/health-server.js";
import { OperatorMetrics } from "./controller/metrics.js";
import { resourcePath } from "./controller/resources.js";
import { OperatorError } from "./errors.js";
import { createLogger, type Logger } from "./logger.js";
import { type OperatorOptions, parseOptions, usage } from "./options.js";

const IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/**
 * The Lease's namespace: the flag; in a pod, the pod's own; out of cluster the operator
 * namespace when it exists, else `default` (so `npm run operator` works against any cluster).
 */
async function leaseNamespace(
  options: OperatorOptions,
  client: KubeClient,
  log: Logger,
): Promise<string> {
  if (options.leaseNamespace) return options.leaseNamespace;
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, "utf8").trim();
  } catch {
    const path = resourcePath("Namespace", { name: options.operatorNamespace });
    if (await client.getOptional(path)) return options.operatorNamespace;
    log.info(
      { namespace: "default" },
      `Namespace ${options.operatorNamespace} does not exist: keeping the leader-election Lease in default (--lease-namespace chooses another)`,
    );
    return "default";
  }
}

async function main() {
  let options: OperatorOptions;
  let archive: ReturnType<typeof archiveSettings>;
  if (process.argv.includes("--help")) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  try {
    options = parseOptions(process.argv.slice(2), process.env);
    archive = archiveSettings(options);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(options.logLevel);
  const kc = loadKubeConfig(
    options.kubeconfig,
    "cluster",
    "pass --kubeconfig <file> when running outside a cluster",
  );
  const metrics = new OperatorMetrics();
  const client = await KubeClient.create(kc, {
    maxInflight: options.maxInflightRequests,
    observers: [metrics.kube.observe],
  });

  const controllers = new Controllers(client, metrics, log, {
    concurrency: options.concurrency,
    resyncMs: options.resyncSeconds * 1000,
    idleProbeMs: options.idleProbeSeconds * 1000,
    notebookUrlTemplate: options.notebookUrlTemplate,
    watchNamespace: options.watchNamespace,
    defaults: {
      images: {
        scheduler: options.schedulerImage,
        worker: options.workerImage,
        notebook: options.notebookImage,
      },
      imagePullPolicy: options.imagePullPolicy,
      launcher: { namespace: options.launcherNamespace, podLabels: options.launcherPodLabels },
      operator: { namespace: options.operatorNamespace, podLabels: options.operatorPodLabels },
      dns: { namespace: options.dnsNamespace, podLabels: options.dnsPodLabels },
      crashLimit: { maxCrashes: options.crashLimit, windowMs: options.crashWindowSeconds * 1000 },
      placement: {
        nodeSelector: options.sandboxNodeSelector,
        tolerations: options.sandboxTolerations,
        affinity: options.sandboxAffinity,
        priorityClassName: options.sandboxPriorityClassName,
      },
      ...(archive ? { archive: archive.defaults } : {}),
    },
    ...(archive ? { archive: { store: archive.store, sweepMs: archive.sweepMs } } : {}),
  });
  const elector = options.leaderElect
    ? new LeaderElector(
        client,
        {
          namespace: await leaseNamespace(options, client, log),
          name: options.leaseName,
          leaseDurationSeconds: options.leaseDurationSeconds,
          renewDeadlineSeconds: options.renewDeadlineSeconds,
          retryPeriodSeconds: options.retryPeriodSeconds,
        },
        log,
      )
    : undefined;

  const health = await startHealthServer({
    host: options.healthHost,
    port: options.healthPort,
    registry: metrics.registry,
    metricsToken: options.metricsToken,
    live: () => true,
    ready: () => controllers.synced,
  });
  log.info(
    {
      server: client.serverUrl,
      health: `${options.healthHost}:${health.port}`,
      archive: archive
        ? `${options.archiveS3Endpoint ?? "s3"}/${options.archiveS3Bucket}/${options.archiveS3Prefix}`
        : "off",
    },
    "Operator starting",
  );

  let stopping = false;
  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "Shutting down");
    const force = setTimeout(() => process.exit(code || 1), 20_000);
    force.unref();
    await controllers.stop().catch((e) => log.error({ err: e }, "Stopping controllers failed"));
    await elector?.stop();
    client.close();
    health.server.close();
    log.info("Stopped");
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  await controllers.sync();
  log.info("Caches synced");
  if (elector) {
    if (!(await elector.acquire())) return;
    metrics.isLeader.set(1);
    elector.keepRenewing(() => void shutdown("leadership-lost", 1));
  } else {
    metrics.isLeader.set(1);
  }
  controllers.run();
  log.info("Reconciling");
}

main().catch((error) => {
  const code =
    error instanceof OperatorError || error instanceof KubeError ? error.code : "unexpected";
  process.stderr.write(`launchbay-operator: ${code}: ${(error as Error).message}\n`);
  process.exit(1);
});
