export * from "./api/index.js";
export { Controllers } from "./controller/operator.js";
export { OperatorMetrics } from "./controller/metrics.js";
export { customResourceDefinitions } from "./crd/crds.js";
export { renderCrdFiles } from "./crd/render.js";
export { OPERATOR_ERROR_CODES, OperatorError } from "./errors.js";
export { parseOptions, usage } from "./options.js";
// The pure per-sandbox object builders, for the chart's lint gates (test/src/helm).
export { desiredObjects, namespaceObject, secretObject } from "./core/desired-objects.js";
export { DEFAULT_SANDBOX_DEFAULTS, type SandboxDefaults } from "./core/operator-config.js";
