import { readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import { K8sHarnessError, K8sHarnessErrorCode } from "../errors.js";

/** What a running real node records in /run/launchbay-real-node/state.json, for tear-down. */
export const RealNodeStateSchema = z
  .object({
    version: z.literal(1),
    startedAt: z.string(),
    /** Values of the host sysctls before the node started, restored at tear-down. */
    sysctls: z.record(z.string(), z.string()),
    /** containerd, kubelet, kube-proxy, kube-router → pid (each leads its process group). */
    pids: z.record(z.string(), z.number().int()),
    /** The control plane's data directory (its own state.json is there). */
    controlPlaneDir: z.string().optional(),
    kubeconfig: z.string().optional(),
    toolsDir: z.string().optional(),
    valuesFile: z.string().optional(),
    containerdSocket: z.string(),
  })
  .strict();
export type RealNodeState = z.infer<typeof RealNodeStateSchema>;

export async function writeNodeState(path: string, state: RealNodeState): Promise<void> {
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The recorded state, or undefined if there is none. */
export async function readNodeState(path: string): Promise<RealNodeState | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = RealNodeStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.BadState,
      `${path} is not a real-node state file (${parsed.error.issues[0]?.message}): stop the processes it names by hand and delete ${path}`,
    );
  }
  return parsed.data;
}
