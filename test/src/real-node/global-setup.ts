import type { TestProject } from "vitest/node";
import {
  realNodeUnsupportedReason,
  startRealNodeCluster,
} from "../k8s/real-node/start-real-node.js";
import type {} from "./provided-context.js";

/**
 * Global setup of the `real-node` vitest project: the control plane plus one real node
 * (containerd, kubelet, kube-proxy, kube-router, CoreDNS) for the whole run, torn down
 * when it ends. Where a real node cannot run (not root, no cgroups...), the tests are
 * skipped with the reason printed — except in CI, where that fails the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reason = await realNodeUnsupportedReason();
  if (reason) {
    if (process.env.CI) throw new Error(`the real-node tests must run in CI, but: ${reason}`);
    console.warn(`[real-node] SKIPPING the real-node tests: ${reason}`);
    project.provide("realNode", { skipped: reason });
    return async () => {};
  }
  const started = Date.now();
  const cluster = await startRealNodeCluster({
    log: (line) => console.info(`[real-node] ${line}`),
  });
  process.env.LAUNCHBAY_TEST_KUBECONFIG = cluster.kubeconfig;
  process.env.LAUNCHBAY_TEST_K8S_TOOLS = cluster.toolsDir;
  process.env.LAUNCHBAY_IMAGE_VALUES = cluster.valuesFile;
  project.provide("realNode", {
    kubeconfig: cluster.kubeconfig,
    server: cluster.server,
    toolsDir: cluster.toolsDir,
    valuesFile: cluster.valuesFile,
    nodeName: cluster.nodeName,
  });
  console.info(
    `[real-node] control plane and node ${cluster.nodeName} ready in ${Date.now() - started} ms (${JSON.stringify(cluster.startupMs)})`,
  );
  return async () => {
    await cluster.stop();
  };
}
