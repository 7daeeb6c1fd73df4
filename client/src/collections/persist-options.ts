/** Options of `bag.persist()` / `table.persist()`. */
import type { ProgressOptions } from "../progress/progress.js";
import { CollectionError } from "./errors.js";
import { describeValue } from "./user-function.js";

export interface PersistOptions {
  /** Show a progress bar over the partitions while they compute (true, or progress options). */
  progress?: boolean | ProgressOptions;
}

/** The progress options to track with, or undefined for none. */
export function parsePersistOptions(options: unknown): ProgressOptions | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new CollectionError(
      "invalid-argument",
      `persist() takes { progress: true } or nothing, got ${describeValue(options)}`,
    );
  }
  const { progress, ...rest } = options as PersistOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new CollectionError(
      "invalid-argument",
      `persist() has no option ${unknown.map((k) => JSON.stringify(k)).join(", ")}: its only option is progress`,
    );
  }
  if (progress === undefined || progress === false) return undefined;
  if (progress === true) return {};
  if (typeof progress !== "object" || progress === null) {
    throw new CollectionError(
      "invalid-argument",
      `persist() option progress must be true, false or progress options, got ${describeValue(progress)}`,
    );
  }
  return progress;
}
