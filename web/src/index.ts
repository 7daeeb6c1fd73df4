export { buildApp, type BuildAppOptions, type LauncherApp } from "./app.js";
export type * from "./backend/backend.js";
export { SandboxStore } from "./backend/sandbox-store.js";
export {
  configSchema,
  parseConfig,
  rawConfigFrom,
  type LauncherConfig,
  type LauncherConfigInput,
} from "./config.js";
export {
  MemoryRateLimitStore,
  type RateLimitStore,
  type RateLimitStoreOptions,
} from "./core/rate-limit.js";
export type { LimitKind, RateLimitStoreClass } from "./http/abuse-limits.js";
export {
  MemoryNonceLedger,
  MemoryOrganiserSessions,
  type NonceLedger,
  type OrganiserSessionStore,
} from "./http/organiser-sessions.js";
export { SandboxCredentials } from "./http/sandbox-credentials.js";
export {
  describeSandbox,
  describeQueued,
  formatRemaining,
  type SandboxView,
} from "./core/describe.js";
export { ERROR_CODES, LauncherError, type ErrorCode } from "./errors.js";
export { createLocalBackend } from "./backend/local/create-local-backend.js";
export {
  LocalBackend,
  type LocalBackendOptions,
  SANDBOX_ENV_MARKER,
} from "./backend/local/local-backend.js";
export { WorkArchive, type WorkArchiveOptions } from "./backend/local/work-archive.js";
export {
  S3WorkArchive,
  type S3WorkArchiveOptions,
} from "./backend/kubernetes/s3-work-archive.js";
export { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./backend/local/crash-window.js";
export {
  clientEntry,
  defaultNotebooksDir,
  defaultRuntimeCommands,
  defaultVenvDir,
  findPackageDir,
  type RuntimeCommands,
} from "./backend/local/runtime-commands.js";
export { pidsWithEnvMarker } from "./backend/local/service-process.js";
export type { SandboxRecord, SandboxRecordStore } from "./backend/local/sandbox-record.js";
export {
  createKubernetesBackend,
  loadKubeConfig,
} from "./backend/kubernetes/create-kubernetes-backend.js";
export { KubernetesBackend } from "./backend/kubernetes/kubernetes-backend.js";
export {
  KubernetesNonceLedger,
  KubernetesOrganiserSessions,
  LeaseRecords,
} from "./backend/kubernetes/lease-records.js";
export { KubernetesSeatLedger, type Seat, seatsOf } from "./backend/kubernetes/seat-ledger.js";
export type {
  LineAnswer,
  LinePlace,
  SeatAnswer,
  SeatRequest,
  SeatView,
  SharedLine,
  SharedSeats,
} from "./launch/shared-seats.js";
export { proxyHttp, type ProxyTarget, registerHttpProxy } from "./proxy/http-proxy.js";
export {
  downstreamResponseHeaders,
  rewriteLocation,
  upstreamRequestHeaders,
} from "./proxy/headers.js";
