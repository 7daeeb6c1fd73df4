export { buildApp, type BuildAppOptions, type LauncherApp } from "./app.js";
export type * from "./backend/backend.js";
export { SandboxStore } from "./backend/sandbox-store.js";
export { configSchema, parseConfig, rawConfigFrom, type LauncherConfig } from "./config.js";
export {
  describeSandbox,
  describeQueued,
  formatRemaining,
  type SandboxView,
} from "./core/describe.js";
export { ERROR_CODES, LauncherError, type ErrorCode } from "./errors.js";
