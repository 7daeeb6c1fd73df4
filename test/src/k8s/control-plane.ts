import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlPlaneCertificates, generatePki, type Pki } from "./certificates.js";
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokArgs,
  kwokEnv,
  logFile,
  schedulerArgs,
} from "./components.js";
import { KubeClient, loadKubeConfig, watchUntil } from "@launchbay/kube";
import { httpsRequest, type TlsEndpoint, tlsEndpoint } from "./tls-endpoint.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { firstServiceIp, type Layout, layoutFor, serverUrl } from "./layout.js";
import { createKwokNodes } from "./nodes.js";
import {
  type ControlPlaneOptions,
  parseControlPlaneOptions,
  type ResolvedControlPlaneOptions,
} from "./options.js";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";
import { freePorts } from "./ports.js";
import { type RunningComponent, startComponent } from "./processes.js";
import { waitUntilReady } from "./readiness.js";
import { startWatchdog } from "./watchdog.js";
import { stopFromState, writeState } from "./state.js";
import { findToolsDir, k8sAssetsDir } from "./tools-dir.js";

export interface ControlPlane {
  /** Path of the admin (system:masters) kubeconfig. */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Directory with kubectl, helm, kwok, etcd and the kube-* binaries. */
  toolsDir: string;
  dataDir: string;
  /** Names of the simulated nodes, all Ready. */
  nodes: string[];
  /** Component name → pid (each leads its own process group). */
  pids: Record<string, number>;
  /** Milliseconds from the start of startControlPlane to each start-up milestone. */
  startupMs: Record<
    "certificates" | "etcd" | "apiserver" | "controllers" | "nodes" | "ready",
    number
  >;
  /** Kills every process and deletes dataDir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on
 * loopback ports, creates the simulated nodes, and resolves once all are ready.
 * On any failure it stops what it started (keeping the logs in the error message).
 */
export async function startControlPlane(input?: ControlPlaneOptions): Promise<ControlPlane> {
  const options = parseControlPlaneOptions(input);
  const toolsDir = await findToolsDir(options.toolsDir);
  // Free ports are picked, released, then bound by the components; another process
  // can take one in between. That start fails cleanly, so try again with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, toolsDir);
    } catch (error) {
      const portTaken =
        error instanceof K8sHarnessError &&
        error.code === K8sHarnessErrorCode.ComponentExited &&
        /address already in use/i.test(error.message);
      if (!portTaken || attempt === 3) throw error;
    }
  }
}

async function startOnce(
  options: ResolvedControlPlaneOptions,
  toolsDir: string,
): Promise<ControlPlane> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "launchbay-k8s-")));
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const layout = layoutFor(
    dataDir,
    { etcdClient, etcdPeer, apiserver, controllerManager, scheduler },
    options.realNode?.address,
  );
  const started: RunningComponent[] = [];
  const state = {
    version: 1 as const,
    server: serverUrl(layout),
    kubeconfig: layout.kubeconfig,
    toolsDir,
    dataDir,
    pids: {} as Record<string, number>,
    startedAt: new Date().toISOString(),
  };
  // Detached (k8s:up) planes are meant to outlive this process; others die with it.
  const watchdog = options.detached ? undefined : startWatchdog(dataDir);
  let stopped: Promise<void> | undefined;
  /** The admin's API client, from the kubeconfig written below. */
  let client: KubeClient | undefined;
  const stop = () => {
    watchdog?.release();
    stopped ??= stopFromState(state);
    return stopped;
  };

  const t0 = Date.now();
  const startupMs = { certificates: 0, etcd: 0, apiserver: 0, controllers: 0, nodes: 0, ready: 0 };
  const deadline = t0 + options.startTimeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const launch = async (name: string, args: string[], env?: NodeJS.ProcessEnv) => {
    const component = startComponent({
      name,
      command: join(toolsDir, name),
      args,
      logFile: logFile(layout, name),
      env,
      detached: options.detached,
    });
    started.push(component);
    state.pids[name] = component.pid;
    watchdog?.watch(component.pid);
    await writeState(layout.stateFile, state);
    return component;
  };

  try {
    await mkdir(layout.logsDir, { recursive: true });
    await mkdir(layout.kwokHome, { recursive: true });
    const pki = await generatePki(
      layout.pkiDir,
      controlPlaneCertificates(firstServiceIp(options.serviceCidr), options.realNode),
    );
    await writeKubeconfigs(layout, pki, options.realNode !== undefined);
    startupMs.certificates = Date.now() - t0;

    const etcd = await launch("etcd", etcdArgs(layout, pki));
    const etcdEndpoint = await tlsEndpoint(`https://127.0.0.1:${layout.ports.etcdClient}`, {
      ca: pki.ca.cert,
      ...pki.certs["apiserver-etcd-client"],
    });
    await waitUntilReady(
      "etcd",
      () => healthy(etcdEndpoint, "/health", '"health":"true"'),
      [etcd],
      remaining(),
    );
    startupMs.etcd = Date.now() - t0;

    const apiserverProcess = await launch(
      "kube-apiserver",
      apiserverArgs(layout, pki, options.serviceCidr, options.realNode !== undefined),
    );
    const admin = await tlsEndpoint(state.server, { ca: pki.ca.cert, ...pki.certs.admin });
    await waitUntilReady(
      "kube-apiserver",
      () => healthy(admin, "/readyz", "ok"),
      started,
      remaining(),
    );
    startupMs.apiserver = Date.now() - t0;

    const cm = await launch("kube-controller-manager", controllerManagerArgs(layout, pki));
    const sched = await launch("kube-scheduler", schedulerArgs(layout, pki));
    await launch(
      "kwok",
      kwokArgs(layout, join(k8sAssetsDir, "kwok-stages.yaml"), options.podCidr),
      kwokEnv(layout),
    );
    const cmEndpoint = await tlsEndpoint(`https://127.0.0.1:${layout.ports.controllerManager}`, {
      ca: pki.ca.cert,
    });
    const schedEndpoint = await tlsEndpoint(`https://127.0.0.1:${layout.ports.scheduler}`, {
      ca: pki.ca.cert,
    });
    await Promise.all([
      waitUntilReady(
        "kube-controller-manager",
        () => healthy(cmEndpoint, "/healthz", "ok"),
        [etcd, apiserverProcess, cm],
        remaining(),
      ),
      waitUntilReady(
        "kube-scheduler",
        () => healthy(schedEndpoint, "/healthz", "ok"),
        [etcd, apiserverProcess, sched],
        remaining(),
      ),
    ]);

    startupMs.controllers = Date.now() - t0;
    client = await KubeClient.create(
      loadKubeConfig(layout.kubeconfig, "default", "the harness wrote it; see test/k8s/README.md"),
    );
    const nodes = await raceExits(
      createKwokNodes(client, options.nodes, remaining(), options.realNode !== undefined),
      started,
    );
    startupMs.nodes = Date.now() - t0;
    // The service-account controller creates `default` in every namespace; pods cannot be created before it exists.
    await raceExits(
      watchUntil(
        client,
        "/api/v1/namespaces/default/serviceaccounts",
        { name: "default", timeoutMs: remaining(), what: "the default ServiceAccount" },
        (items) => items.length > 0,
      ),
      started,
    );
    startupMs.ready = Date.now() - t0;
    for (const endpoint of [etcdEndpoint, admin, cmEndpoint, schedEndpoint])
      endpoint.agent.destroy();
    client.close();
    return {
      kubeconfig: layout.kubeconfig,
      server: state.server,
      toolsDir,
      dataDir,
      nodes,
      pids: { ...state.pids },
      startupMs,
      stop,
    };
  } catch (error) {
    client?.close();
    await stop().catch(() => {});
    throw error;
  }
}

/** Kubeconfigs of a real node's agents, in the control plane's data directory. */
export function realNodeKubeconfig(
  dataDir: string,
  agent: "kubelet" | "kube-proxy" | "kube-router",
) {
  return join(dataDir, `${agent}.kubeconfig`);
}

async function writeKubeconfigs(layout: Layout, pki: Pki, realNode: boolean): Promise<void> {
  const server = serverUrl(layout);
  const clients: [string, string, string][] = [
    [layout.kubeconfig, "admin", "kubernetes-admin"],
    [
      layout.componentKubeconfigs.controllerManager,
      "controller-manager",
      "system:kube-controller-manager",
    ],
    [layout.componentKubeconfigs.scheduler, "scheduler", "system:kube-scheduler"],
    [layout.componentKubeconfigs.kwok, "kwok", "kwok-controller"],
  ];
  if (realNode) {
    for (const [agent, user] of [
      ["kubelet", "kubelet"],
      ["kube-proxy", "system:kube-proxy"],
      ["kube-router", "kube-router"],
    ] as const) {
      clients.push([realNodeKubeconfig(layout.dataDir, agent), agent, user]);
    }
  }
  for (const [path, certName, user] of clients) {
    const client = pki.certs[certName];
    if (!client) throw new Error(`no certificate named ${certName} was generated`);
    await writeKubeconfig(path, { server, caFile: pki.ca.cert, client, user });
  }
}

async function healthy(endpoint: TlsEndpoint, path: string, expected: string): Promise<boolean> {
  const response = await httpsRequest(endpoint, "GET", path, undefined, 5_000);
  return response.status === 200 && response.body.includes(expected);
}

/** Rejects if a component exits before the promise settles. */
async function raceExits<T>(promise: Promise<T>, components: RunningComponent[]): Promise<T> {
  let done = false;
  const exits = components.map((c) =>
    c.exited.then((how) => {
      if (!done) throw new Error(`${c.name} ${how}; see ${c.logFile}`);
      return undefined as never;
    }),
  );
  try {
    return await Promise.race([promise, ...exits]);
  } finally {
    done = true;
  }
}
