import type { z } from "zod";
import { formatIssues } from "../config.js";
import { LauncherError } from "../errors.js";

/** Decodes a request part with a zod schema; a mismatch is a 400 naming the bad field. */
export function decode<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new LauncherError("invalid-request", `invalid ${what}: ${formatIssues(result.error)}`);
  }
  return result.data;
}
