export {
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isRefused,
  isTerminal,
  isTooManyRequests,
  isUnauthorized,
  KUBE_ERROR_CODES,
  KubeApiError,
  KubeError,
  type KubeErrorCode,
  statusOf,
  TerminalError,
} from "./errors.js";
export { KubeConfig } from "@kubernetes/client-node";
export { Informer, type InformerEvent, type InformerOptions } from "./informer.js";
export {
  KubeClient,
  type KubeClientOptions,
  loadKubeConfig,
  type RequestObserver,
  type RequestSpec,
  resourceOfPath,
} from "./kube-client.js";
export { LeaderElector, type LeaderElectionOptions } from "./leader-election.js";
export type { KubeLogger } from "./logger.js";
export { KubeRequestMetrics } from "./metrics.js";
export { watchUntil, type WatchUntilOptions } from "./watch-until.js";
export {
  type Handler,
  realTimers,
  type Timers,
  WorkQueue,
  type WorkQueueOptions,
} from "./work-queue.js";
