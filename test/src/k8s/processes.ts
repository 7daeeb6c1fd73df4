import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { open, readFile } from "node:fs/promises";

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Let the process outlive this Node.js process (no reference kept on it). */
  detached: boolean;
}

export interface RunningComponent {
  name: string;
  /** Also the id of the process group the component leads. */
  pid: number;
  logFile: string;
  /** Settles when the process exits, with how it ended. */
  exited: Promise<string>;
}

/** Starts a component as the leader of a new process group, its output appended to logFile. */
export function startComponent(spec: ComponentSpec): RunningComponent {
  const fd = openSync(spec.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: spec.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) =>
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`),
    );
    child.once("error", (error) => resolve(`could not start: ${error.message}`));
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (e.g. ENOENT); the "error" event says why.
    return { name: spec.name, pid: -1, logFile: spec.logFile, exited };
  }
  if (spec.detached) child.unref();
  return { name: spec.name, pid: child.pid, logFile: spec.logFile, exited };
}

/** True while the process exists and is not a zombie (exited, not yet reaped). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: "pid (comm) S ..."; state Z is a zombie.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all we know
  }
}

/** Sends signal to the whole process group led by pid; a group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Stops process groups: SIGTERM, then SIGKILL for any still alive after graceMs.
 * Resolves once every leader is gone.
 */
export async function stopGroups(pids: number[], graceMs = 10_000): Promise<void> {
  for (const pid of pids) signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let delay = 10;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) {
      for (const pid of pids) signalGroup(pid, "SIGKILL");
      await untilGone(pids, 5_000);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
}

async function untilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) {
      throw new Error(`processes ${pids.filter(isAlive).join(", ")} survived SIGKILL`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The last lines of a log file, for error messages. */
export async function logTail(path: string, lines = 20): Promise<string> {
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 16_384);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer
        .toString("utf8")
        .split("\n")
        .slice(-lines - 1)
        .join("\n")
        .trim();
    } finally {
      await handle.close();
    }
  } catch {
    return (await readFile(path, "utf8").catch(() => "")).trim();
  }
}
