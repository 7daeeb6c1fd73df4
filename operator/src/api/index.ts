/**
 * The launcher-facing API of the operator: resource schemas and types, names, labels and
 * the helpers a client of the Sandbox/Workshop resources needs. No Kubernetes I/O here.
 */
export * from "./conditions.js";
export * from "./constants.js";
export * from "./duration.js";
export * from "./placement.js";
export * from "./quantity.js";
export * from "./resources.js";
export * from "./sandbox.js";
export * from "./sandbox-lifecycle.js";
export * from "./warm-pool.js";
export * from "./workshop.js";
export { archiveS3OptionsShape } from "./archive-storage.js";
