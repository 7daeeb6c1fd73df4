export { formatBytes, parseMemoryLimit } from "./byte-sizes.js";
export { WorkerError, WorkerErrorCode } from "./errors.js";
export { WorkerOptions } from "./options.js";
export { type RunningWorker, startWorker } from "./worker.js";
export { type WorkerCommand, type WorkerEvent, WorkerState } from "./worker-state.js";
