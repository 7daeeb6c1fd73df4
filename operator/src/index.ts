export * from "./api/index.js";
export { Controllers } from "./controller/operator.js";
export { OperatorMetrics } from "./controller/metrics.js";
export { customResourceDefinitions } from "./crd/crds.js";
export { renderCrdFiles } from "./crd/render.js";
export { OPERATOR_ERROR_CODES, OperatorError } from "./errors.js";
export { parseOptions, usage } from "./options.js";
