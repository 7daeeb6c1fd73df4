import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * A sandbox service's output goes to files in the launcher's state directory
 * (`logs/<sandbox>/<service>.out|.err`, 0600) instead of pipes into the launcher, so the
 * service keeps running when the launcher dies (a closed pipe would kill it on its next
 * line) and a restarted launcher can still read why it stopped.
 */
export interface ServiceLogFiles {
  stdout: string;
  stderr: string;
}

/** The directory of one sandbox's service logs. */
export function sandboxLogsDir(logsDir: string, sandboxId: string): string {
  return join(logsDir, sandboxId);
}

export function serviceLogFiles(
  logsDir: string,
  sandboxId: string,
  service: string,
): ServiceLogFiles {
  const base = join(sandboxLogsDir(logsDir, sandboxId), service.replace(/[^A-Za-z0-9_-]/g, "-"));
  return { stdout: `${base}.out`, stderr: `${base}.err` };
}

/** Follows a file as it grows and hands each complete line to `onLine` (polled). */
export class FileFollower {
  private offset = 0;
  private partial = "";
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
    /** Where to start: by default the file's current end (only what is written from now on). */
    fromOffset = fileSize(path),
    pollMs = 100,
  ) {
    this.offset = fromOffset;
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
  }

  /** Reads what was appended since the last poll. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return;
      const buffer = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
      const read = readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      const lines = (this.partial + buffer.subarray(0, read).toString("utf8")).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) this.onLine(line);
    } finally {
      closeSync(fd);
    }
  }

  stop(): void {
    this.poll();
    clearInterval(this.timer);
  }
}

/** The last `lines` lines of a file (at most its last 16 KiB), or nothing when it is gone. */
export function lastLines(path: string, lines: number): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** A file's size, 0 when it does not exist yet. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
