/**
 * Options of collection constructors and operations, validated with zod: a bad value
 * gets a CollectionError that names the option and says what is allowed.
 */
import { z } from "zod";
import type { Client } from "../client.js";
import { Future } from "../futures/future.js";
import { CollectionError } from "./errors.js";
import { describeValue } from "./user-function.js";

export const MAX_PARTITIONS = 100_000;
/** How many partial results one combine task takes (Dask's split_every). */
export const DEFAULT_FAN_IN = 8;
/** Partitions when none are asked for: enough to keep a few workers busy. */
export const DEFAULT_PARTITIONS = 16;

const npartitions = z
  .number()
  .int()
  .min(1)
  .max(MAX_PARTITIONS)
  .optional()
  .describe(`an integer from 1 to ${MAX_PARTITIONS}`);

export const PartitionOptions = z.strictObject({ npartitions });
export type PartitionOptions = z.input<typeof PartitionOptions>;

export const ReduceOptions = z.strictObject({
  /** Partials combined per task (default 8). */
  splitEvery: z.number().int().min(2).max(1024).optional(),
});
export type ReduceOptions = z.input<typeof ReduceOptions>;

export function parseCollectionOptions<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.join(".");
  const code = path === "npartitions" ? "invalid-npartitions" : "invalid-argument";
  const allowed =
    path === "npartitions"
      ? `npartitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${describeValue(
          (value as Record<string, unknown>)?.npartitions,
        )}`
      : `${path ? `${path}: ` : ""}${issue.message}`;
  throw new CollectionError(code, `${where}: ${allowed}`);
}

/** Checks that `client` looks like a launchbay Client (duck-typed: one package copy or two). */
export function checkClient(client: unknown, where: string): Client {
  const c = client as Partial<Client> | null | undefined;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.submit !== "function" ||
    typeof c.gather !== "function" ||
    typeof c.wait !== "function"
  ) {
    throw new CollectionError(
      "invalid-argument",
      `${where} needs a connected Client as its first argument, got ${describeValue(client)}: ` +
        "const client = await Client.connect()",
    );
  }
  return client as Client;
}

/** Splits `items` into `n` contiguous chunks whose sizes differ by at most one. */
export function splitEvenly<T>(items: readonly T[], n: number): T[][] {
  const chunks: T[][] = [];
  const base = Math.floor(items.length / n);
  const extra = items.length % n;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = base + (i < extra ? 1 : 0);
    chunks.push(items.slice(start, start + size));
    start += size;
  }
  return chunks;
}

/** `requested` partitions for `count` items, at least one and at most one per item. */
export function partitionCount(count: number, requested: number | undefined): number {
  return Math.max(1, Math.min(count, requested ?? DEFAULT_PARTITIONS));
}

/** Checks a non-empty array of futures, each meant to hold an array of `what`. */
export function checkFutures<F>(futures: readonly F[], where: string, what: string): void {
  if (
    !Array.isArray(futures) ||
    futures.length === 0 ||
    !futures.every((f) => f instanceof Future)
  ) {
    throw new CollectionError(
      "invalid-argument",
      `${where} needs a non-empty array of futures, each holding an array of ${what} ` +
        "(e.g. client.map(loadChunk, paths))",
    );
  }
}
