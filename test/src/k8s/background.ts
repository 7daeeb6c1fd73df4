import { access } from "node:fs/promises";
import { join } from "node:path";
import { startControlPlane } from "./control-plane.js";
import { isAlive } from "./processes.js";
import { backgroundRunDir } from "./run-dir.js";
import { type ControlPlaneState, readState, stopFromState } from "./state.js";

export type UpResult = { status: "started" | "already-up"; state: ControlPlaneState };

async function existingState(runDir: string): Promise<ControlPlaneState | undefined> {
  const file = join(runDir, "state.json");
  try {
    await access(file);
  } catch {
    return undefined;
  }
  return readState(file);
}

/** Starts a control plane whose processes outlive this one, unless one is already up. */
export async function backgroundUp(runDir = backgroundRunDir()): Promise<UpResult> {
  const previous = await existingState(runDir);
  if (previous) {
    if (Object.values(previous.pids).every(isAlive))
      return { status: "already-up", state: previous };
    // Half dead (a crash, a reboot): clear it away and start afresh.
    await stopFromState(previous);
  }
  const plane = await startControlPlane({ dataDir: runDir, detached: true });
  return { status: "started", state: await readState(join(plane.dataDir, "state.json")) };
}

/** Stops the background control plane; false if none was running. */
export async function backgroundDown(runDir = backgroundRunDir()): Promise<boolean> {
  const state = await existingState(runDir);
  if (!state) return false;
  await stopFromState(state);
  return true;
}
