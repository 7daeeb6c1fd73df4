import { access, constants, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ControlPlane, realNodeKubeconfig, startControlPlane } from "../control-plane.js";
import { K8sHarnessError, K8sHarnessErrorCode } from "../errors.js";
import { KubeClient, loadKubeConfig, watchUntil } from "@launchbay/kube";
import { isAlive, logTail, type RunningComponent, startComponent } from "../processes.js";
import { waitUntilReady } from "../readiness.js";
import { criVersionError } from "./cri-probe.js";
import { findRealNodeAssets, type NodeImage } from "./assets.js";
import { createBridge, installEgressDrop, recordSysctls, sh, writeSysctl } from "./host.js";
import { type RealNodePaths, realNode, realNodePaths } from "./layout.js";
import {
  cniConfig,
  containerdConfig,
  corednsManifests,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  kubeRouterArgs,
} from "./node-configs.js";
import { type RealNodeState, readNodeState, writeNodeState } from "./node-state.js";
import { teardownRealNode } from "./teardown.js";

export interface RealNodeCluster {
  kubeconfig: string;
  server: string;
  toolsDir: string;
  /** Chart values pointing at the imported images (LAUNCHBAY_IMAGE_VALUES). */
  valuesFile: string;
  nodeName: string;
  /** Milliseconds from the start to each milestone. */
  startupMs: Record<string, number>;
  /** Tears everything down (see teardownRealNode). */
  stop(): Promise<void>;
}

/** Why a real node cannot run on this machine, or undefined if it can. */
export async function realNodeUnsupportedReason(): Promise<string | undefined> {
  if (process.platform !== "linux") return "a real node needs Linux";
  if (process.getuid?.() !== 0)
    return "a real node needs root (it runs containerd and the kubelet, and changes iptables and the host's network)";
  for (const program of ["ip", "iptables", "ipset", "containerd", "ctr", "runc", "conntrack"]) {
    if (!(await onPath(program)))
      return `${program} is missing: run \`bash scripts/setup.sh realnode\` as root`;
  }
  try {
    await access("/usr/lib/cni/bridge", constants.X_OK);
  } catch {
    return "the CNI plugins are missing (/usr/lib/cni/bridge): run `bash scripts/setup.sh realnode`";
  }
  try {
    await access("/proc/sys/net/bridge/bridge-nf-call-iptables");
  } catch {
    return "the kernel's br_netfilter is not loaded (no /proc/sys/net/bridge): NetworkPolicies could not see traffic between pods; run `modprobe br_netfilter`";
  }
  return undefined;
}

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** The real node running now, if any (its state file exists and its agents are alive). */
export async function runningRealNode(paths = realNodePaths()): Promise<RealNodeState | undefined> {
  const state = await readNodeState(paths.stateFile).catch(() => undefined);
  if (!state) return undefined;
  const pids = Object.values(state.pids);
  return pids.length >= 4 && pids.every(isAlive) ? state : undefined;
}

/**
 * Starts the control plane plus one real node on this machine: the pod bridge and the
 * egress drop rules first, then the control plane (API server on the bridge address),
 * containerd with the images imported, kubelet, kube-proxy, kube-router (NetworkPolicy),
 * CoreDNS as a pod. The kwok nodes are tainted, so ordinary pods land on the real node.
 * One per machine. On any failure everything is torn down again.
 */
export async function startRealNodeCluster(
  options: { detached?: boolean; dataDir?: string; log?: (line: string) => void } = {},
): Promise<RealNodeCluster> {
  const log = options.log ?? (() => {});
  const reason = await realNodeUnsupportedReason();
  if (reason) throw new K8sHarnessError(K8sHarnessErrorCode.RealNodeUnsupported, reason);
  const assets = await findRealNodeAssets();
  const paths = realNodePaths();
  await lock(paths);

  const t0 = Date.now();
  const startupMs: Record<string, number> = {};
  const mark = (what: string) => {
    startupMs[what] = Date.now() - t0;
    log(`${what} after ${startupMs[what]} ms`);
  };
  const state: RealNodeState = {
    version: 1,
    startedAt: new Date().toISOString(),
    sysctls: await recordSysctls(),
    pids: {},
    containerdSocket: paths.containerdSocket,
  };
  await writeNodeState(paths.stateFile, state);
  const stop = async () => {
    await teardownRealNode(paths);
  };
  const started: RunningComponent[] = [];
  const launch = async (name: string, command: string, args: string[]) => {
    const component = startComponent({
      name,
      command,
      args,
      logFile: join(paths.logsDir, `${name}.log`),
      detached: options.detached ?? false,
    });
    started.push(component);
    state.pids[name] = component.pid;
    await writeNodeState(paths.stateFile, state);
    return component;
  };

  try {
    // The network first: nothing a pod sends may leave the machine, from the first pod on.
    await createBridge();
    await installEgressDrop();
    await writeSysctl("net.ipv4.ip_forward", "1");
    await writeSysctl("net.bridge.bridge-nf-call-iptables", "1");
    mark("network");

    const plane = await startControlPlane({
      dataDir: options.dataDir,
      detached: options.detached ?? false,
      realNode: { address: realNode.bridgeAddress, nodeName: realNode.nodeName },
    });
    state.controlPlaneDir = plane.dataDir;
    state.kubeconfig = plane.kubeconfig;
    state.toolsDir = plane.toolsDir;
    state.valuesFile = assets.valuesFile;
    await writeNodeState(paths.stateFile, state);
    mark("control plane");
    const admin = await KubeClient.create(
      loadKubeConfig(plane.kubeconfig, "default", "the harness wrote it; see test/k8s/README.md"),
    );

    await writeConfigs(paths, plane, assets.pause.ref);
    const containerd = await launch("containerd", "containerd", [
      "--config",
      paths.containerdConfig,
    ]);
    await waitUntilReady(
      "containerd",
      () =>
        sh("ctr", ["--address", paths.containerdSocket, "version"], 5_000).then(
          () => true,
          () => false,
        ),
      [containerd],
      60_000,
    );
    // The kubelet exits at once if containerd's CRI plugin has not finished
    // recovering its state; `ctr version` answers before that.
    await waitUntilReady(
      "containerd's CRI service",
      async () => {
        const error = await criVersionError(paths.containerdSocket);
        if (error) throw new Error(error);
        return true;
      },
      [containerd],
      120_000,
    );
    mark("containerd");
    await importImages(paths, [assets.pause, assets.coredns, ...assets.images], log);
    mark("images imported");

    const bin = (name: string) => join(assets.binDir, name);
    await launch(
      "kubelet",
      bin("kubelet"),
      kubeletArgs(paths, realNodeKubeconfig(plane.dataDir, "kubelet")),
    );
    await launch("kube-proxy", bin("kube-proxy"), [`--config=${paths.kubeProxyConfig}`, "--v=1"]);
    await raceExits(waitForNodeReady(admin, 120_000), started);
    mark("node ready");
    // kube-router finds its node by name: only once the kubelet has registered it.
    await launch(
      "kube-router",
      bin("kube-router"),
      kubeRouterArgs(realNodeKubeconfig(plane.dataDir, "kube-router")),
    );

    await writeFile(
      paths.corednsManifest,
      `${corednsManifests(assets.coredns.ref)
        .map((o) => JSON.stringify(o))
        .join("\n---\n")}\n`,
    );
    const kubectl = join(plane.toolsDir, "kubectl");
    await sh(kubectl, ["--kubeconfig", plane.kubeconfig, "apply", "-f", paths.corednsManifest]);
    await raceExits(
      sh(
        kubectl,
        [
          "--kubeconfig",
          plane.kubeconfig,
          "-n",
          "kube-system",
          "rollout",
          "status",
          "deployment/coredns",
          "--timeout=120s",
        ],
        130_000,
      ),
      started,
    );
    mark("cluster DNS ready");
    admin.close();
    return {
      kubeconfig: plane.kubeconfig,
      server: plane.server,
      toolsDir: plane.toolsDir,
      valuesFile: assets.valuesFile,
      nodeName: realNode.nodeName,
      startupMs,
      stop,
    };
  } catch (error) {
    const tails = await Promise.all(
      started.map(async (c) => `--- ${c.name} (${c.logFile}):\n${await logTail(c.logFile, 15)}`),
    );
    await stop().catch((e: Error) => log(`tear-down after the failure: ${e.message}`));
    if (error instanceof K8sHarnessError) {
      error.message += tails.length ? `\n${tails.join("\n")}` : "";
      throw error;
    }
    throw new K8sHarnessError(
      K8sHarnessErrorCode.NotReady,
      `starting the real node failed: ${(error as Error).message}\n${tails.join("\n")}`,
      { cause: error },
    );
  }
}

/** The run directory is the machine-wide lock: created exclusively. */
async function lock(paths: RealNodePaths): Promise<void> {
  try {
    await mkdir(paths.runDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const running = await runningRealNode(paths);
    if (running) {
      throw new K8sHarnessError(
        K8sHarnessErrorCode.RealNodeBusy,
        `a real node already runs on this machine (since ${running.startedAt}; ${paths.stateFile}): stop it with \`npm run k8s:down\``,
      );
    }
    // Remains of a node that crashed or failed: clear them, then take the lock.
    await teardownRealNode(paths);
    await mkdir(paths.runDir, { mode: 0o700 });
  }
  await mkdir(paths.logsDir, { recursive: true });
}

async function writeConfigs(paths: RealNodePaths, plane: ControlPlane, pauseImage: string) {
  await mkdir(paths.cniConfDir, { recursive: true });
  await mkdir(paths.containerdRoot, { recursive: true });
  await writeFile(paths.containerdConfig, containerdConfig(paths, pauseImage));
  await writeFile(
    join(paths.cniConfDir, "10-launchbay.conflist"),
    `${JSON.stringify(cniConfig(paths), null, 2)}\n`,
  );
  const pki = join(plane.dataDir, "pki");
  await writeFile(
    paths.kubeletConfig,
    `${JSON.stringify(
      kubeletConfig(paths, {
        ca: join(pki, "ca.crt"),
        servingCert: join(pki, "kubelet-serving.crt"),
        servingKey: join(pki, "kubelet-serving.key"),
      }),
      null,
      2,
    )}\n`,
  );
  await writeFile(
    paths.kubeProxyConfig,
    `${JSON.stringify(kubeProxyConfig(realNodeKubeconfig(plane.dataDir, "kube-proxy")), null, 2)}\n`,
  );
}

/** Imports each image archive into containerd's k8s.io namespace, unless it is there already. */
async function importImages(paths: RealNodePaths, images: NodeImage[], log: (l: string) => void) {
  const ctr = (...args: string[]) =>
    sh("ctr", ["--address", paths.containerdSocket, "-n", "k8s.io", ...args], 600_000);
  const present = new Set((await ctr("images", "ls", "-q")).split("\n").filter(Boolean));
  for (const image of images) {
    if (present.has(image.ref)) continue;
    const t0 = Date.now();
    await ctr("images", "import", image.archive);
    const after = new Set((await ctr("images", "ls", "-q")).split("\n").filter(Boolean));
    if (!after.has(image.ref)) {
      throw new Error(
        `importing ${image.archive} did not create ${image.ref} (containerd has: ${[...after].join(", ")})`,
      );
    }
    log(`imported ${image.ref} in ${Date.now() - t0} ms`);
  }
}

interface NodeObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

async function waitForNodeReady(admin: KubeClient, timeoutMs: number): Promise<NodeObject> {
  const [node] = await watchUntil<NodeObject>(
    admin,
    "/api/v1/nodes",
    { name: realNode.nodeName, timeoutMs, what: `node ${realNode.nodeName} to become Ready` },
    ([n]) => n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
  );
  return node!;
}

/** Rejects if an agent exits before the promise settles. */
async function raceExits<T>(promise: Promise<T>, components: RunningComponent[]): Promise<T> {
  let done = false;
  const exits = components.map((c) =>
    c.exited.then(async (how) => {
      if (!done)
        throw new K8sHarnessError(
          K8sHarnessErrorCode.ComponentExited,
          `${c.name} ${how}:\n${await logTail(c.logFile)}`,
        );
      return undefined as never;
    }),
  );
  try {
    return await Promise.race([promise, ...exits]);
  } finally {
    done = true;
  }
}
