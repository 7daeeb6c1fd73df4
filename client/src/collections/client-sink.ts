/**
 * The production TaskSink: submits task functions with the collection's client and keeps
 * every future it made, so a run can let go of the intermediate ones once the graph is
 * submitted (the scheduler keeps what pending tasks still need) and of the rest when done.
 */
import type { Client } from "../client.js";
import { LaunchbayError, RemoteTaskError } from "../errors.js";
import type { Future } from "../futures/future.js";
import type { TaskFunction } from "./compose.js";
import { type ProgressOptions, trackFutures } from "../progress/progress.js";
import { CollectionError } from "./errors.js";
import { moduleStepFunction } from "./module-steps.js";
import { GraphBuilder, type PartitionRef, type TaskSink } from "./graph-builder.js";
import type { Plan } from "./plan.js";

function identityPartition(partition: unknown): unknown {
  return partition;
}

export class ClientSink implements TaskSink<Future<unknown>> {
  readonly #client: Client;
  readonly #made: Future<unknown>[] = [];

  constructor(client: Client) {
    this.#client = client;
  }

  submit(fn: TaskFunction, args: readonly unknown[]): Future<unknown> {
    const future = withClosedCheck(() =>
      fn.module
        ? this.#client.submit(moduleStepFunction(fn, fn.module), fn.source, ...args)
        : this.#client.submit(fn.fn, ...args),
    );
    this.#made.push(future);
    return future;
  }

  identity(value: unknown): Future<unknown> {
    const future = withClosedCheck(() => this.#client.submit(identityPartition, value));
    this.#made.push(future);
    return future;
  }

  /** Releases every future this sink made except those in `keep` (others' are left alone). */
  releaseExcept(keep: ReadonlySet<Future<unknown>>): void {
    const kept: Future<unknown>[] = [];
    for (const future of this.#made) {
      if (keep.has(future)) kept.push(future);
      else future.release();
    }
    this.#made.length = 0;
    this.#made.push(...kept);
  }
}

/** One computation: a builder over a client sink, and how to collect its outputs. */
export class ClientRun {
  readonly sink: ClientSink;
  readonly builder: GraphBuilder<Future<unknown>>;

  constructor(readonly client: Client) {
    this.sink = new ClientSink(client);
    this.builder = new GraphBuilder(this.sink);
  }

  /** The values of `refs` (gathered from the cluster); releases every future of the run. */
  async values(refs: readonly PartitionRef<Future<unknown>>[]): Promise<unknown[]> {
    // Only the outputs need holding: the scheduler keeps what pending tasks depend on.
    this.sink.releaseExcept(new Set(refs.flatMap((r) => ("handle" in r ? [r.handle] : []))));
    try {
      return await this.gather(refs);
    } finally {
      this.close();
    }
  }

  /** The values of `refs`, keeping every future of the run (for more gathers; then close()). */
  async gather(refs: readonly PartitionRef<Future<unknown>>[]): Promise<unknown[]> {
    const handles = refs.flatMap((r) => ("handle" in r ? [r.handle] : []));
    const gathered = await withClosedCheckAsync(() => this.client.gather(handles));
    let next = 0;
    return refs.map((r) => ("handle" in r ? gathered[next++] : r.literal));
  }

  /** Releases every future the run made. */
  close(): void {
    this.sink.releaseExcept(new Set());
  }

  /** Handles on every partition of `plan`, computed and held on the workers. */
  async persist(
    plan: Plan,
    npartitions: number,
    progress?: ProgressOptions,
  ): Promise<Future<unknown>[]> {
    const futures = Array.from({ length: npartitions }, (_, i) => this.builder.handle(plan, i));
    this.sink.releaseExcept(new Set(futures));
    if (progress !== undefined) await trackFutures(futures, progress);
    await this.client.wait(futures);
    for (const future of futures) {
      const error = await future.exception();
      if (error) {
        this.sink.releaseExcept(new Set());
        throw closedError(error);
      }
    }
    return futures;
  }
}

/** The errors the order and key kernels throw inside tasks, by their `name`. */
const KERNEL_ERRORS: Record<string, "unorderable-values" | "unhashable-key" | "read-failed"> = {
  UnorderableValuesError: "unorderable-values",
  UnhashableKeyError: "unhashable-key",
  DataSourceError: "read-failed", // readers/worker-readers.ts
};

/** A collection's view of an error from the runtime (kernel errors get their codes). */
export function closedError(error: unknown): unknown {
  if (error instanceof RemoteTaskError && error.remoteCode === undefined) {
    const code = Object.hasOwn(KERNEL_ERRORS, error.remoteName)
      ? KERNEL_ERRORS[error.remoteName]
      : undefined;
    if (code !== undefined) {
      let message = error.message.split("\n--- remote stack ---")[0]!;
      // A reader's message names the file and what to do: the task key adds nothing.
      if (code === "read-failed") message = message.replace(/^task \S+ failed: \w+: /, "");
      return new CollectionError(code, message, { cause: error });
    }
  }
  if (error instanceof LaunchbayError && error.code === "client-closed") {
    return new CollectionError(
      "client-closed",
      "the client this collection was made with is closed: connect a new client " +
        "(Client.connect()) and build the collection again with it",
      { cause: error },
    );
  }
  return error;
}

function withClosedCheck<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw closedError(error);
  }
}

async function withClosedCheckAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw closedError(error);
  }
}
