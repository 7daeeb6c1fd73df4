import { z } from "zod";
import { CONDITION_TYPES, SANDBOX_PHASES } from "../backend.js";

/**
 * What the local backend keeps on disk about one sandbox: its state as attendees see it,
 * and everything a restarted launcher needs to re-adopt or stop it (tokens, ports, the
 * identity of each process, its user and directory). Decoded with zod when read back.
 */
export const sandboxRecordSchema = z.object({
  state: z.object({
    id: z.string().min(1),
    owner: z.string(),
    phase: z.enum(SANDBOX_PHASES),
    conditions: z.array(
      z.object({
        type: z.enum(CONDITION_TYPES),
        status: z.enum(["True", "False", "Unknown"]),
        reason: z.string().optional(),
        message: z.string().optional(),
      }),
    ),
    message: z.string(),
    createdAt: z.number(),
    readyAt: z.number().optional(),
    expiresAt: z.number(),
    workers: z.object({ ready: z.number().int(), desired: z.number().int() }),
    warm: z.boolean(),
  }),
  local: z.object({
    /** The sandbox's directory (`<sandboxes>/<id>`) when it was created. */
    root: z.string().min(1),
    runtimeToken: z.string().min(1),
    notebookToken: z.string().min(1),
    notebookPort: z.number().int().positive().optional(),
    schedulerHttp: z.string().url().optional(),
    user: z
      .object({ name: z.string().min(1), uid: z.number().int(), gid: z.number().int() })
      .optional(),
    /** Whether a cgroup was made for it (`users` isolation). */
    cgroup: z.boolean(),
    processes: z.array(
      z.object({
        name: z.string().min(1),
        pid: z.number().int().positive(),
        startTime: z.number().int().nonnegative(),
      }),
    ),
  }),
});
export type SandboxRecord = z.infer<typeof sandboxRecordSchema>;

/** Where the local backend keeps its records (the launcher's SQLite database; see state-db.ts). */
export interface SandboxRecordStore {
  /** Every stored record, and the ids of rows that could not be decoded (with why). */
  load(): { records: SandboxRecord[]; invalid: { id: string; problem: string }[] };
  save(record: SandboxRecord): void;
  remove(id: string): void;
}
