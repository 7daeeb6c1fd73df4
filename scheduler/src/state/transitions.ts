/**
 * The transition table: every legal `from->to` move of a task and what it does.
 * A move that is not in the table is a scheduler bug; `TaskBook.transition`
 * throws an `IllegalTransitionError` carrying the task's story.
 *
 * Each entry undoes the bookkeeping of the state it leaves, then sets up the state it
 * enters. `forgotten` and `cancelled` are final: the task is removed.
 */
import type { RemoteErrorShape } from "@launchbay/protocol";
import type { FinalState, Task, TaskState, WorkerRecord } from "./types.js";

export interface TransitionDetail {
  worker?: WorkerRecord;
  nbytes?: number;
  data?: Uint8Array | undefined;
  error?: RemoteErrorShape;
  /** The key whose failure this is (the task itself, or a dependency). */
  erredOn?: string;
}

/**
 * The bookkeeping steps the table calls (implemented by `TaskBook`). Declared here, so the
 * table does not depend on the class that uses it.
 */
export interface TransitionTarget {
  setState(t: Task, to: TaskState): void;
  enterWaiting(t: Task): void;
  leaveWaiting(t: Task): void;
  enterQueued(t: Task): void;
  leaveQueued(t: Task): void;
  enterProcessing(t: Task, w: WorkerRecord): void;
  enterStoring(t: Task): void;
  leaveProcessing(t: Task, free: boolean): void;
  enterMemory(t: Task, w: WorkerRecord, nbytes: number, data: Uint8Array | undefined): void;
  leaveMemory(t: Task): void;
  dependencyLost(t: Task): void;
  enterErred(t: Task, error: RemoteErrorShape, erredOn: string): void;
  remove(t: Task): void;
}

type Handler = (s: TransitionTarget, t: Task, d: TransitionDetail) => void;
export type TransitionKey = `${TaskState}->${TaskState | FinalState}`;

const erred: Handler = (s, t, d) => s.enterErred(t, d.error!, d.erredOn ?? t.key);

export const TRANSITIONS: Partial<Record<TransitionKey, Handler>> = {
  "released->waiting": (s, t) => s.enterWaiting(t),
  "released->queued": (s, t) => s.enterQueued(t),
  /** Scattered data on its way to the workers that will hold it. */
  "released->processing": (s, t) => s.enterStoring(t),
  "released->erred": erred,
  "released->forgotten": (s, t) => s.remove(t),

  "waiting->queued": (s, t) => {
    s.leaveWaiting(t);
    s.enterQueued(t);
  },
  "waiting->released": (s, t) => {
    s.leaveWaiting(t);
    s.setState(t, "released");
  },
  "waiting->erred": (s, t, d) => {
    s.leaveWaiting(t);
    erred(s, t, d);
  },
  "waiting->forgotten": (s, t) => {
    s.leaveWaiting(t);
    s.remove(t);
  },
  "waiting->cancelled": (s, t) => {
    s.leaveWaiting(t);
    s.remove(t);
  },

  "queued->processing": (s, t, d) => {
    s.leaveQueued(t);
    s.enterProcessing(t, d.worker!);
  },
  "queued->waiting": (s, t) => {
    s.leaveQueued(t);
    s.enterWaiting(t);
  },
  "queued->released": (s, t) => {
    s.leaveQueued(t);
    s.setState(t, "released");
  },
  "queued->erred": (s, t, d) => {
    s.leaveQueued(t);
    erred(s, t, d);
  },
  "queued->forgotten": (s, t) => {
    s.leaveQueued(t);
    s.remove(t);
  },
  "queued->cancelled": (s, t) => {
    s.leaveQueued(t);
    s.remove(t);
  },

  "processing->memory": (s, t, d) => {
    s.leaveProcessing(t, false);
    s.enterMemory(t, d.worker!, d.nbytes ?? t.nbytes, d.data);
  },
  /** Retry after a failure, a lost worker, or a dependency that could not be fetched. */
  "processing->queued": (s, t) => {
    s.leaveProcessing(t, false);
    s.enterQueued(t);
  },
  "processing->waiting": (s, t) => {
    s.leaveProcessing(t, false);
    s.enterWaiting(t);
  },
  "processing->released": (s, t) => {
    s.leaveProcessing(t, true);
    s.setState(t, "released");
  },
  "processing->erred": (s, t, d) => {
    s.leaveProcessing(t, false);
    erred(s, t, d);
  },
  "processing->forgotten": (s, t) => {
    s.leaveProcessing(t, true);
    s.remove(t);
  },
  "processing->cancelled": (s, t) => {
    s.leaveProcessing(t, true);
    s.remove(t);
  },

  "memory->released": (s, t) => {
    s.leaveMemory(t);
    s.setState(t, "released");
    s.dependencyLost(t);
  },
  "memory->forgotten": (s, t) => {
    s.leaveMemory(t);
    s.remove(t);
  },

  "erred->forgotten": (s, t) => s.remove(t),
};

/**
 * The same table indexed `[from][to]`, so a transition is two property reads instead of
 * building a `"from->to"` string for every move on the hot path.
 */
export const TRANSITIONS_BY_STATE: Readonly<Record<string, Readonly<Record<string, Handler>>>> =
  (() => {
    const byState: Record<string, Record<string, Handler>> = {};
    for (const [key, handler] of Object.entries(TRANSITIONS)) {
      const [from, to] = key.split("->") as [string, string];
      byState[from] ??= Object.create(null) as Record<string, Handler>;
      byState[from]![to] = handler!;
    }
    return byState;
  })();
