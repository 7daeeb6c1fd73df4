import type { TestProject } from "vitest/node";
import { startControlPlane } from "./control-plane.js";
import type {} from "./provided-context.js";

/**
 * Global setup of the `k8s` vitest project: one control plane for the whole run.
 * Tests read it with `inject("k8s")` or the env vars LAUNCHBAY_TEST_KUBECONFIG and
 * LAUNCHBAY_TEST_K8S_TOOLS (also seen by processes the tests start).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // Four kwok nodes (8 CPUs, 110 pods each): every test file of the project shares this
  // control plane, and the sandboxes of earlier files (kept for inspection until the
  // run ends) must not leave later files' pods unschedulable.
  const plane = await startControlPlane({ nodes: { count: 4 } });
  process.env.LAUNCHBAY_TEST_KUBECONFIG = plane.kubeconfig;
  process.env.LAUNCHBAY_TEST_K8S_TOOLS = plane.toolsDir;
  project.provide("k8s", {
    kubeconfig: plane.kubeconfig,
    server: plane.server,
    toolsDir: plane.toolsDir,
    nodes: plane.nodes,
  });
  const phases = Object.entries(plane.startupMs)
    .map(([phase, ms]) => `${phase} ${ms}`)
    .join(", ");
  console.info(
    `[k8s] control plane ready at ${plane.server} in ${Date.now() - started} ms (ms since start: ${phases}; ${plane.dataDir})`,
  );
  return async () => {
    await plane.stop();
  };
}
