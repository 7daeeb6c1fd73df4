/**
 * The scheduler state machine's vocabulary: the events it consumes, the commands it
 * emits, and the records it keeps. Everything here is plain data; no I/O.
 */
import type {
  ClientToScheduler,
  RemoteErrorShape,
  SchedulerToClient,
  SchedulerToWorker,
  WorkerToScheduler,
} from "@launchbay/protocol";

/**
 * Task states.
 * - `released`: known (its spec is kept for lineage) but neither computing nor held.
 *   Fresh tasks start here, and results nobody needs any more come back here.
 * - `waiting`: needed, but some dependencies are not in memory yet.
 * - `queued`: ready to run, waiting for a worker slot (or a worker that satisfies it).
 * - `processing`: assigned to a worker (running or pipelined there).
 * - `memory`: its result is held by at least one worker.
 * - `erred`: it (or a dependency) failed for good.
 * Two pseudo-states end a task's life: `forgotten` (the scheduler dropped it because
 * nothing refers to it any more) and `cancelled` (a client cancelled it).
 */
export type TaskState = "released" | "waiting" | "queued" | "processing" | "memory" | "erred";
export type FinalState = "forgotten" | "cancelled";
export const TASK_STATES: readonly TaskState[] = [
  "released",
  "waiting",
  "queued",
  "processing",
  "memory",
  "erred",
];

export type ClientId = string;
export type WorkerId = string;

export interface WorkerJoined {
  type: "worker-joined";
  now: number;
  worker: WorkerId;
  name: string;
  address: string;
  nthreads: number;
  memoryLimit: number;
  resources: Record<string, number>;
}

export type SchedulerEvent =
  | { type: "client-joined"; now: number; client: ClientId; name?: string | undefined }
  | { type: "client-left"; now: number; client: ClientId }
  | WorkerJoined
  | { type: "worker-left"; now: number; worker: WorkerId; reason: string }
  | { type: "from-client"; now: number; client: ClientId; message: ClientToScheduler }
  | { type: "from-worker"; now: number; worker: WorkerId; message: WorkerToScheduler };

export type Command =
  | { type: "send-client"; client: ClientId; message: SchedulerToClient }
  | { type: "send-worker"; worker: WorkerId; message: SchedulerToWorker };

/** What a task runs: absent for scattered data, which cannot be recomputed. */
export interface TaskRun {
  fn: string;
  args: Uint8Array;
  workers: string[] | undefined;
  allowOtherWorkers: boolean;
  resources: Record<string, number> | undefined;
}

export type StoryEntry = [
  now: number,
  from: TaskState | "new",
  to: TaskState | FinalState,
  cause: string,
];

export interface Task {
  readonly key: string;
  state: TaskState;
  /** Undefined for scattered data. */
  readonly run: TaskRun | undefined;
  readonly deps: readonly Task[];
  readonly dependents: Set<Task>;
  /** Dependents in waiting/queued/processing (they need this task's result). */
  activeDependents: number;
  /** Dependencies not in memory (state `waiting` only; 0 otherwise). */
  waitingCount: number;
  readonly wantedBy: Set<ClientId>;
  readonly whoHas: Set<WorkerId>;
  processingOn: WorkerId | undefined;
  /** Scattered data: workers asked to store it that have not confirmed yet. */
  pendingStores: Set<WorkerId> | undefined;
  nbytes: number;
  priority: number;
  /** Submission order: ties in priority run first-come first-served. */
  readonly seq: number;
  retriesLeft: number;
  /** How many workers died while running it. */
  suspicious: number;
  error: RemoteErrorShape | undefined;
  /** Where `error` came from (this key, or the dependency that failed first). */
  erredOn: string | undefined;
  /** Milliseconds of work it adds to its worker's occupancy while processing. */
  expectedMs: number;
}

export interface WorkerRecord {
  readonly id: WorkerId;
  readonly name: string;
  readonly address: string;
  readonly nthreads: number;
  readonly memoryLimit: number;
  readonly resources: Record<string, number>;
  readonly resourcesUsed: Record<string, number>;
  /** Tasks assigned to it (running or pipelined). */
  readonly processing: Set<Task>;
  /** Estimated milliseconds of work assigned to it. */
  occupancy: number;
  /** Keys it holds. */
  readonly has: Set<Task>;
  /** Scattered data it was asked to store and has not confirmed yet. */
  readonly storing: Set<Task>;
  bytesHeld: number;
  /** Function ids and module hashes it has been sent. */
  readonly functions: Set<string>;
  readonly modules: Set<string>;
  readonly joinedAt: number;
}

export interface ClientRecord {
  readonly id: ClientId;
  readonly name: string | undefined;
  /** Keys it wants. */
  readonly wants: Set<Task>;
}

/** One finished task, for the dashboard's task stream. */
export interface StreamEntry {
  key: string;
  name: string;
  worker: string;
  start: number;
  end: number;
  outcome: "memory" | "failed";
}
