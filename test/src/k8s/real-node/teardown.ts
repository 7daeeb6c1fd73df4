import { cp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { K8sHarnessError, K8sHarnessErrorCode } from "../errors.js";
import { isAlive, stopGroups } from "../processes.js";
import { readState, stopFromState } from "../state.js";
import {
  linkExists,
  removeOwnedIpsets,
  removeOwnedIptables,
  removePodCgroups,
  removePodNetns,
  restoreSysctls,
  sh,
  tryStep,
  unmountUnder,
} from "./host.js";
import { type RealNodePaths, realNode, realNodePaths } from "./layout.js";
import { readNodeState } from "./node-state.js";

/** Where the last real node's logs are kept after tear-down (for a failure's post-mortem). */
export function lastLogsDir(paths: RealNodePaths): string {
  return join(paths.containerdRoot, "..", "last-logs");
}

/**
 * Tears a real node down, whatever state it is in (also after a crash or a failed start):
 * agents stopped, every container and pod sandbox removed, containerd stopped, mounts,
 * network namespaces, bridge, iptables chains and ipsets removed, pod cgroups and kubelet
 * state deleted, sysctls restored, the control plane stopped. Each step runs even if an
 * earlier one failed; a failure of any is reported at the end. False if nothing was there.
 */
export async function teardownRealNode(paths = realNodePaths()): Promise<boolean> {
  let state: Awaited<ReturnType<typeof readNodeState>>;
  try {
    state = await readNodeState(paths.stateFile);
  } catch {
    state = undefined; // unreadable: tear down what the fixed paths tell us
  }
  const exists = state !== undefined || (await dirExists(paths.runDir));
  if (!exists) return false;
  const errors: string[] = [];
  const pids = state?.pids ?? {};
  const agents = ["kube-router", "kube-proxy", "kubelet"].map((n) => pids[n]).filter(isPid);
  await tryStep(errors, "stopping kube-router, kube-proxy, kubelet", () => stopGroups(agents));

  const socket = state?.containerdSocket ?? paths.containerdSocket;
  const containerdAlive = isPid(pids.containerd) && isAlive(pids.containerd);
  if (containerdAlive) {
    await tryStep(errors, "removing containers", () => removeAllContainers(socket));
    await tryStep(errors, "stopping containerd", () => stopGroups([pids.containerd as number]));
  }
  await tryStep(errors, "stopping containerd shims", () => killShims(socket));

  if (state?.controlPlaneDir) {
    const dir = state.controlPlaneDir;
    await tryStep(errors, "stopping the control plane", async () => {
      if (await dirExists(join(dir, "state.json")))
        await stopFromState(await readState(join(dir, "state.json")));
    });
  }

  await unmountUnder([realNode.kubeletRootDir, paths.runDir, paths.containerdRoot], errors);
  await removePodNetns(errors);
  await removeOwnedIptables("iptables", errors);
  await removeOwnedIptables("ip6tables", errors);
  await removeOwnedIpsets(errors);
  await tryStep(errors, `deleting ${realNode.bridge}`, async () => {
    if (await linkExists(realNode.bridge)) await sh("ip", ["link", "delete", realNode.bridge]);
  });
  // Containers still running (their containerd died) are killed through their cgroups.
  await removePodCgroups(errors);
  if (isPid(pids.containerd) && !containerdAlive) {
    // Its records of those containers are stale: drop containerd's root (a cache of the
    // imported images; the next start imports them again).
    await tryStep(errors, "deleting containerd's root", async () => {
      await unmountUnder([paths.containerdRoot], errors);
      await rm(paths.containerdRoot, { recursive: true, force: true });
    });
  }
  if (state) await restoreSysctls(state.sysctls, errors);
  await tryStep(errors, "keeping the logs", async () => {
    await rm(lastLogsDir(paths), { recursive: true, force: true });
    if (await dirExists(paths.logsDir))
      await cp(paths.logsDir, lastLogsDir(paths), { recursive: true });
  });
  await tryStep(errors, `deleting ${realNode.kubeletRootDir}`, () =>
    rm(realNode.kubeletRootDir, { recursive: true, force: true }),
  );
  // The run directory is the lock: deleted last, and only if everything else went.
  if (errors.length > 0) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.RealNodeTeardownIncomplete,
      `tearing the real node down left something behind:\n  ${errors.join("\n  ")}`,
    );
  }
  await rm(paths.runDir, { recursive: true, force: true });
  return true;
}

function isPid(pid: number | undefined): pid is number {
  return typeof pid === "number" && pid > 0;
}

async function dirExists(path: string): Promise<boolean> {
  try {
    await readdir(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOTDIR";
  }
}

/** Kills and deletes every task and container in containerd's k8s.io namespace. */
async function removeAllContainers(socket: string): Promise<void> {
  const ctr = (...args: string[]) => sh("ctr", ["--address", socket, "-n", "k8s.io", ...args]);
  const tasks = (await ctr("tasks", "ls", "-q")).split("\n").filter(Boolean);
  for (const id of tasks) await ctr("tasks", "kill", "-s", "SIGKILL", id).catch(() => {});
  for (const id of tasks) await ctr("tasks", "delete", "--force", id).catch(() => {});
  const containers = (await ctr("containers", "ls", "-q")).split("\n").filter(Boolean);
  for (const id of containers) await ctr("containers", "delete", id);
}

/** containerd-shim-runc-v2 processes of this node's containerd (found by its socket path). */
async function killShims(socket: string): Promise<void> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    const args = cmdline.split("\0");
    if (args[0]?.endsWith("containerd-shim-runc-v2") && args.includes(socket)) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
