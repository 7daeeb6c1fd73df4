export { type ControlPlane, startControlPlane } from "./control-plane.js";
export { K8sHarnessError, K8sHarnessErrorCode, k8sHarnessErrorHelp } from "./errors.js";
export { kwokNodeLabel } from "./nodes.js";
export type { ControlPlaneOptions } from "./options.js";
export type { ProvidedK8s } from "./provided-context.js";
export { findToolsDir, requiredTools } from "./tools-dir.js";
