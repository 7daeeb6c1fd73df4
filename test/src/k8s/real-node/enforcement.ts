import { K8sHarnessError, K8sHarnessErrorCode } from "../errors.js";
import { stopGroups } from "../processes.js";
import { kubeRouterChain, removeOwnedIpsets, removeOwnedIptables } from "./host.js";
import { realNodePaths } from "./layout.js";
import { readNodeState } from "./node-state.js";

/**
 * Turns NetworkPolicy enforcement off on the running real node: kube-router stopped and
 * its iptables chains and ipsets removed (its own --cleanup-config panics in v2.1.0).
 * Tests use it to show that a refusal is the engine's doing. Not reversible: tests that
 * need enforcement run before.
 */
export async function disableNetworkPolicyEnforcement(paths = realNodePaths()): Promise<void> {
  const state = await readNodeState(paths.stateFile);
  const pid = state?.pids["kube-router"];
  if (!pid) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.BadState,
      `no real node with kube-router is recorded in ${paths.stateFile}`,
    );
  }
  await stopGroups([pid]);
  const errors: string[] = [];
  await removeOwnedIptables("iptables", errors, kubeRouterChain);
  await removeOwnedIpsets(errors);
  if (errors.length > 0) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.RealNodeTeardownIncomplete,
      `removing kube-router's rules failed:\n  ${errors.join("\n  ")}`,
    );
  }
}
