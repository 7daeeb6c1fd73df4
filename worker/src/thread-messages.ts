/** Messages between the worker's main thread and its task threads (`task-thread.ts`). */
import type { RemoteErrorShape } from "@launchbay/protocol";

/** A function the thread evaluates once and caches by id. */
export interface ThreadFunction {
  id: string;
  name: string;
  /** A JavaScript expression that evaluates to the function. */
  source?: string;
  /** Or a module file to import and the export to take. */
  module?: { hash: string; path: string; export: string };
}

export interface ThreadTask {
  key: string;
  fn: string;
  args: Uint8Array;
  deps: [string, Uint8Array][];
  /** Keys of deps whose buffers may be moved to the thread (the main thread is done with them). */
  moved?: string[];
}

/** main → thread: run these tasks in order, after defining these functions. */
export interface RunBatch {
  type: "run";
  functions: ThreadFunction[];
  tasks: ThreadTask[];
}

/** main → thread: drop these functions (the scheduler freed them; they are sent again if needed). */
export interface ForgetFunctions {
  type: "forget";
  functions: string[];
}

export type MainToThread = RunBatch | ForgetFunctions;

export type TaskOutcome =
  | { key: string; ok: true; data: Uint8Array; durationMs: number }
  | { key: string; ok: false; error: RemoteErrorShape; durationMs: number };

/** thread → main. `done` marks the end of the current batch. */
export type ThreadReport =
  | { type: "ready" }
  | { type: "outcomes"; outcomes: TaskOutcome[]; done: boolean };

/** The shared slot where a thread writes the index of the task it is running (-1: none). */
export const IDLE = -1;
