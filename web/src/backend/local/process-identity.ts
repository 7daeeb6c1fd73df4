import { readFileSync } from "node:fs";

/**
 * Who a pid is: the kernel's start time of the process (clock ticks since boot, field 22
 * of /proc/<pid>/stat). A pid can be reused after its process exits; pid and start time
 * together cannot, so a launcher that restarts re-adopts only the very processes it started.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

/** The process's start time, or undefined when it is gone or a zombie (already dead). */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields after it
  // start behind the last ") ".
  const rest = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return undefined;
  const startTime = Number(rest[19]);
  return Number.isFinite(startTime) ? startTime : undefined;
}

/** Whether `identity` is still the same live process, carrying `NAME=value` in its environment. */
export function isSameProcess(identity: ProcessIdentity, marker: string): boolean {
  if (processStartTime(identity.pid) !== identity.startTime) return false;
  try {
    return readFileSync(`/proc/${identity.pid}/environ`, "latin1").split("\0").includes(marker);
  } catch {
    return false;
  }
}
