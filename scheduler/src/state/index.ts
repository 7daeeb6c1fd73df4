export { assertInvariants } from "./invariants.js";
export { DurationEstimates } from "./placement.js";
export { SchedulerState, type SchedulerStateOptions } from "./scheduler-state.js";
export { TRANSITIONS } from "./transitions.js";
export * from "./types.js";
