export * from "./errors.js";
export { type RunningScheduler, startScheduler } from "./server/start-scheduler.js";
export type { SchedulerOptionsInput as StartSchedulerOptions } from "./server/options.js";
export {
  assertInvariants,
  type Command,
  type SchedulerEvent,
  SchedulerState,
  type SchedulerStateOptions,
  type TaskState,
} from "./state/index.js";
