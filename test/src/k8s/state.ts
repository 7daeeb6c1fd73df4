import { readFile, rm, writeFile } from "node:fs/promises";
import { z } from "zod";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";
import { stopGroups } from "./processes.js";

/** What a running control plane records in <dataDir>/state.json, so another process can stop it. */
export const ControlPlaneStateSchema = z
  .object({
    version: z.literal(1),
    server: z.string().url(),
    kubeconfig: z.string().min(1),
    toolsDir: z.string().min(1),
    dataDir: z.string().min(1),
    /** Component name → pid (each the leader of its own process group). */
    pids: z.record(z.string(), z.number().int()),
    startedAt: z.string(),
  })
  .strict();
export type ControlPlaneState = z.infer<typeof ControlPlaneStateSchema>;

export async function writeState(path: string, state: ControlPlaneState): Promise<void> {
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function readState(path: string): Promise<ControlPlaneState> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.BadState,
      `cannot read ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const parsed = ControlPlaneStateSchema.safeParse(safeJson(raw));
  if (!parsed.success) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.BadState,
      `${path} is not a control-plane state file (${parsed.error.issues[0]?.message}); stop its processes by hand and delete the directory`,
    );
  }
  return parsed.data;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Stops every process of a control plane (process groups, in reverse start order) and deletes its data directory. */
export async function stopFromState(state: ControlPlaneState): Promise<void> {
  const pids = Object.values(state.pids).reverse();
  // Clients first (kwok, scheduler, controller manager), then the API server, then etcd.
  for (const pid of pids) await stopGroups([pid]);
  await rm(state.dataDir, { recursive: true, force: true });
}
