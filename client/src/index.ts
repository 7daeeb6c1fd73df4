export {
  Client,
  type ClientInfo,
  type FutureArgs,
  type MaybeFuture,
  type UploadModuleOptions,
} from "./client.js";
export {
  CancelledError,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  CodeBudgetError,
  FreeVariableError,
  FutureLostError,
  LaunchbayError,
  RemoteTaskError,
  SchedulerLostError,
  TimeoutError,
} from "./errors.js";
export {
  compute,
  Delayed,
  type DelayedArg,
  type DelayedArgs,
  type DelayedFunction,
  delayed,
} from "./delayed/delayed.js";
export { AsCompleted } from "./futures/as-completed.js";
export { Future } from "./futures/future.js";
export type { FutureStatus } from "./futures/key-state.js";
export type { Gathered } from "./futures/nested-futures.js";
export type { ReturnWhen, WaitOptions, WaitResult } from "./futures/wait.js";
export { type ModuleFunctions, RemoteModule } from "./modules/remote-module.js";
export type {
  ConnectOptions,
  DelayedOptions,
  MapOptions,
  RestartOptions,
  ResultOptions,
  ScatterOptions,
  SubmitOptions,
} from "./options.js";
export { withHelpers } from "./shipping/with-helpers.js";
export { CliProcess } from "./cluster/child-process.js";
export { LocalCluster, type LocalClusterOptions } from "./cluster/local-cluster.js";
export * from "./collections/index.js";
export {
  type ProgressOptions,
  type ProgressSummary,
  progress,
} from "./progress/progress.js";
export * as plot from "./plot/index.js";
