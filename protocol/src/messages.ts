/**
 * Every message of launchbay's wire protocol, as zod schemas.
 *
 * Four conversations share one framing (see `frame.ts`):
 * - client ↔ scheduler and worker ↔ scheduler, on the scheduler's WebSocket port;
 * - peer ↔ worker (another worker or a client fetching data), on a worker's data port.
 * The first message on every connection is a `hello` naming the speaker's role and
 * protocol version; everything after it is decoded with that role's schema.
 * Task values (arguments, results, scattered data) travel as opaque bytes produced by
 * `values.ts`: the scheduler never deserialises user data.
 */
import { z } from "zod";

/** 2: `restart` (client → scheduler → workers), `restart-reply`, failure code `restarted`. */
export const PROTOCOL_VERSION = 2;

export const Key = z.string().min(1).max(1024);
// z.custom, not z.instanceof: TypeScript 5.9 infers `Uint8Array<ArrayBuffer>` from the
// latter, which rejects the `Uint8Array<ArrayBufferLike>` that Buffer and v8.serialize give.
export const Bytes = z.custom<Uint8Array>(
  (value) => value instanceof Uint8Array,
  "expected a Uint8Array",
);
const Count = z.number().int().nonnegative();
const RequestId = z.number().int().nonnegative();
const Name = z.string().min(1).max(253);
/** Named, countable resources a worker offers and a task may claim, e.g. `{ memoryMiB: 512 }`. */
export const Resources = z.record(z.string().min(1).max(63), z.number().nonnegative().finite());

/** An exception raised by user code (or a runtime failure attributed to a task). */
export const RemoteErrorShape = z.object({
  name: z.string().max(200),
  message: z.string().max(100_000),
  stack: z.string().max(100_000).optional(),
  /** Set when launchbay itself failed the task (see `TaskFailureCode`). */
  code: z.string().max(64).optional(),
});
export type RemoteErrorShape = z.infer<typeof RemoteErrorShape>;

/** Codes the runtime uses when it fails a task itself, not the task's code. */
export const TaskFailureCode = z.enum([
  "killed-worker", // the task was running on too many workers that died
  "memory-limit", // its result did not fit in the worker's memory limit
  "lost-dependency", // a dependency was lost and could not be recomputed
  "no-worker", // no connected worker can satisfy its restrictions or resources
  "function-error", // the shipped function or module could not be loaded
  "cancelled", // a client cancelled it
  "code-budget", // its function or module was refused: the scheduler's --max-code-bytes budget is full
  "restarted", // a client restarted the cluster (client.restart()): every result was dropped
]);
export type TaskFailureCode = z.infer<typeof TaskFailureCode>;

/** Protocol-level errors: sent as `{ type: "error" }`, after which the sender closes. */
export const ProtocolErrorCode = z.enum([
  "bad-frame", // the bytes were not a launchbay frame
  "bad-message", // a message failed its schema
  "protocol-mismatch", // hello carried a protocol version this peer does not speak
  "unexpected-message", // a valid message arrived at the wrong time (e.g. before hello)
  "shutting-down",
]);
export type ProtocolErrorCode = z.infer<typeof ProtocolErrorCode>;

export const ErrorMessage = z.object({
  type: z.literal("error"),
  code: ProtocolErrorCode,
  message: z.string(),
});

// ---------------------------------------------------------------------------------------
// hello / welcome

export const ClientHello = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  role: z.literal("client"),
  name: Name.optional(),
});
export const WorkerHello = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  role: z.literal("worker"),
  /** Stable, unique among the scheduler's workers (a pod name, or host-pid). */
  name: Name,
  /** Where peers fetch this worker's data: `ws://host:port`. */
  address: z.string().regex(/^wss?:\/\/[^/\s]+$/, "address must look like ws://host:port"),
  nthreads: z.number().int().positive().max(1024),
  /** Bytes of results this worker may hold. */
  memoryLimit: z.number().int().positive(),
  resources: Resources.default({}),
});
export const PeerHello = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  role: z.literal("peer"),
});
export const Hello = z.discriminatedUnion("role", [ClientHello, WorkerHello, PeerHello]);
export type Hello = z.infer<typeof Hello>;
export type ClientHello = z.infer<typeof ClientHello>;
export type WorkerHello = z.infer<typeof WorkerHello>;

export const WorkerInfo = z.object({
  id: z.string(),
  name: Name,
  address: z.string(),
  nthreads: z.number().int(),
  memoryLimit: z.number(),
  resources: Resources,
  /** Bytes of results held. */
  bytesHeld: Count,
  processing: Count,
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

// ---------------------------------------------------------------------------------------
// functions and modules (content-addressed)

/** A function is defined once (by content hash) and referenced by id from each task. */
export const FunctionDefinition = z.object({
  type: z.literal("define-function"),
  /** `src:<sha256 hex of source>` or `mod:<module hash>#<export>`. */
  id: z.string().min(5).max(200),
  /** Human name: the function's name, used as the key prefix and on the dashboard. */
  name: z.string().max(200),
  source: z.string().max(1_000_000).optional(),
  module: z
    .object({ hash: z.string().regex(/^[0-9a-f]{64}$/), export: z.string().min(1).max(200) })
    .optional(),
});
export type FunctionDefinition = z.infer<typeof FunctionDefinition>;

/** An ES module bundled by the client (all imports inlined except `node:` builtins). */
export const PutModule = z.object({
  type: z.literal("put-module"),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().max(500),
  code: z.string().max(64 * 1024 * 1024),
});
export type PutModule = z.infer<typeof PutModule>;

// ---------------------------------------------------------------------------------------
// client → scheduler

export const TaskSpec = z.object({
  key: Key,
  /** A `define-function` id sent earlier on this connection (or by any client). */
  fn: z.string().min(5).max(200),
  /** `encodeArgs()` output: the argument list with futures replaced by key markers. */
  args: Bytes,
  /** Keys of the futures that appear (at any depth) in `args`. */
  deps: z.array(Key).max(100_000),
  priority: z.number().finite().default(0),
  retries: Count.max(100).default(0),
  /** Run only on workers with these names. */
  workers: z.array(Name).max(1000).optional(),
  /** If true, `workers` is a preference, not a restriction. */
  allowOtherWorkers: z.boolean().default(false),
  /** Resources the task holds on its worker while it runs. */
  resources: Resources.optional(),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

export const SubmitTask = TaskSpec.extend({ type: z.literal("submit-task") });
/** The client holds futures for these keys again (e.g. after a `pure` resubmission). */
export const WantKeys = z.object({ type: z.literal("want-keys"), keys: z.array(Key) });
/** The client dropped its last future for these keys. */
export const ReleaseKeys = z.object({ type: z.literal("release-keys"), keys: z.array(Key) });
export const CancelKeys = z.object({ type: z.literal("cancel-keys"), keys: z.array(Key) });
export const Scatter = z.object({
  type: z.literal("scatter"),
  items: z.array(z.object({ key: Key, data: Bytes })).max(100_000),
  /** Copy to every worker instead of one. */
  broadcast: z.boolean().default(false),
  workers: z.array(Name).optional(),
});
export const WhoHas = z.object({
  type: z.literal("who-has"),
  requestId: RequestId,
  keys: z.array(Key),
});
export const InfoRequest = z.object({ type: z.literal("info"), requestId: RequestId });
/**
 * Restart the cluster: every client's keys are released (`key-lost`, code `restarted`), every
 * worker drops its tasks and data and registers again; `restart-reply` once they are back.
 */
export const RestartRequest = z.object({ type: z.literal("restart"), requestId: RequestId });

/**
 * The client no longer holds these functions (ids) and modules (hashes): the scheduler
 * drops each once no task refers to it either. A later `define-function` sends it again.
 */
export const ReleaseCode = z.object({
  type: z.literal("release-code"),
  functions: z.array(z.string().min(5).max(200)).max(100_000),
  modules: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(100_000),
});

export const ClientToScheduler = z.discriminatedUnion("type", [
  FunctionDefinition,
  PutModule,
  ReleaseCode,
  SubmitTask,
  WantKeys,
  ReleaseKeys,
  CancelKeys,
  Scatter,
  WhoHas,
  InfoRequest,
  RestartRequest,
]);
export type ClientToScheduler = z.infer<typeof ClientToScheduler>;

// ---------------------------------------------------------------------------------------
// scheduler → client

export const ClientWelcome = z.object({
  type: z.literal("welcome"),
  protocol: z.number().int(),
  clientId: z.string(),
  schedulerId: z.string(),
});
export const KeyInMemory = z.object({
  type: z.literal("key-in-memory"),
  key: Key,
  nbytes: Count,
  /** The result itself when it is small (≤ the scheduler's inline limit). */
  data: Bytes.optional(),
});
export const TaskErred = z.object({
  type: z.literal("task-erred"),
  key: Key,
  error: RemoteErrorShape,
});
/** The scheduler forgot this key (cancelled, or lost with no way to recompute). */
export const KeyLost = z.object({
  type: z.literal("key-lost"),
  key: Key,
  code: TaskFailureCode,
  message: z.string(),
});
export const WhoHasReply = z.object({
  type: z.literal("who-has-reply"),
  requestId: RequestId,
  /** Key → peer addresses of workers holding it (empty: not in memory). */
  who: z.record(Key, z.array(z.string())),
});
export const InfoReply = z.object({
  type: z.literal("info-reply"),
  requestId: RequestId,
  schedulerId: z.string(),
  workers: z.array(WorkerInfo),
  tasks: z.record(z.string(), Count),
});
/** Every worker of before the restart has registered again (`workers`: how many are now). */
export const RestartReply = z.object({
  type: z.literal("restart-reply"),
  requestId: RequestId,
  workers: Count,
});
export const SchedulerToClient = z.discriminatedUnion("type", [
  ClientWelcome,
  KeyInMemory,
  TaskErred,
  KeyLost,
  WhoHasReply,
  InfoReply,
  RestartReply,
  ErrorMessage,
]);
export type SchedulerToClient = z.infer<typeof SchedulerToClient>;

// ---------------------------------------------------------------------------------------
// worker → scheduler

export const TaskFinished = z.object({
  type: z.literal("task-finished"),
  key: Key,
  nbytes: Count,
  durationMs: z.number().nonnegative(),
  /** The result when it is small (≤ the inline limit the scheduler sent in `welcome`). */
  data: Bytes.optional(),
});
export const TaskFailed = z.object({
  type: z.literal("task-failed"),
  key: Key,
  error: RemoteErrorShape,
  durationMs: z.number().nonnegative(),
});
/** Data stored without computing it (scatter). */
export const KeysStored = z.object({
  type: z.literal("keys-stored"),
  keys: z.array(z.object({ key: Key, nbytes: Count })),
});
/** A dependency could not be fetched from the workers the scheduler named. */
export const MissingData = z.object({
  type: z.literal("missing-data"),
  key: Key,
  dependency: Key,
  /** Peer addresses that did not have it. */
  from: z.array(z.string()),
});
export const Heartbeat = z.object({
  type: z.literal("heartbeat"),
  bytesHeld: Count,
  executing: Count,
  rss: Count,
  /**
   * CPU the worker process used since its previous heartbeat, in cores (all threads: 2 =
   * two cores busy the whole interval). Optional, so older workers still connect; the
   * dashboard draws it over time.
   */
  cpu: z.number().nonnegative().max(10_000).optional(),
});
export const WorkerToScheduler = z.discriminatedUnion("type", [
  TaskFinished,
  TaskFailed,
  KeysStored,
  MissingData,
  Heartbeat,
]);
export type WorkerToScheduler = z.infer<typeof WorkerToScheduler>;

// ---------------------------------------------------------------------------------------
// scheduler → worker

export const WorkerWelcome = z.object({
  type: z.literal("welcome"),
  protocol: z.number().int(),
  workerId: z.string(),
  schedulerId: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** Results up to this many bytes ride along in `task-finished`. */
  inlineLimit: Count,
});
export const ComputeTask = z.object({
  type: z.literal("compute-task"),
  key: Key,
  fn: z.string(),
  args: Bytes,
  /** Each dependency with the peer addresses that hold it. */
  deps: z.array(z.object({ key: Key, nbytes: Count, who: z.array(z.string()) })),
  priority: z.number(),
  resources: Resources.optional(),
});
/** Drop these results, and forget these tasks if queued or running (results ignored). */
export const FreeKeys = z.object({ type: z.literal("free-keys"), keys: z.array(Key) });
export const PutData = z.object({
  type: z.literal("put-data"),
  items: z.array(z.object({ key: Key, data: Bytes })),
});
/** Forget these functions and modules (nothing holds them any more; sent again if needed). */
export const FreeCode = z.object({
  type: z.literal("free-code"),
  functions: z.array(z.string()),
  modules: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
});
/**
 * Drop every task, result and running computation, close this connection and register
 * again as a fresh worker (the process stays).
 */
export const RestartWorker = z.object({ type: z.literal("restart") });
export const SchedulerToWorker = z.discriminatedUnion("type", [
  WorkerWelcome,
  FunctionDefinition,
  PutModule,
  FreeCode,
  ComputeTask,
  FreeKeys,
  PutData,
  RestartWorker,
  ErrorMessage,
]);
export type SchedulerToWorker = z.infer<typeof SchedulerToWorker>;

// ---------------------------------------------------------------------------------------
// peer ↔ worker (data port)

export const GetData = z.object({
  type: z.literal("get-data"),
  requestId: RequestId,
  keys: z.array(Key),
});
export const PeerToWorker = z.discriminatedUnion("type", [GetData]);
export type PeerToWorker = z.infer<typeof PeerToWorker>;

export const DataReply = z.object({
  type: z.literal("data"),
  requestId: RequestId,
  items: z.array(z.object({ key: Key, data: Bytes })),
  /** Requested keys this worker does not hold. */
  missing: z.array(Key),
});
export const PeerWelcome = z.object({ type: z.literal("welcome"), protocol: z.number().int() });
export const WorkerToPeer = z.discriminatedUnion("type", [PeerWelcome, DataReply, ErrorMessage]);
export type WorkerToPeer = z.infer<typeof WorkerToPeer>;

export type ErrorMessage = z.infer<typeof ErrorMessage>;
