import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { FastifyBaseLogger } from "fastify";
import { FileFollower, fileSize, type ServiceLogFiles } from "./service-logs.js";

export interface CommandSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** How a service process is started beyond its command. */
export interface ServiceOptions {
  /** Strings (the sandbox's tokens) replaced by `[redacted]` in its output before it is logged or kept. */
  redact?: string[];
  /**
   * Send stdout and stderr to these files instead of pipes, so the process outlives the
   * launcher (see service-logs.ts); their lines are followed as they are written.
   */
  logFiles?: ServiceLogFiles;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One process of a sandbox (scheduler, worker or Jupyter), in its own process group so
 * stopping it also stops whatever it started. Keeps the last lines of its output for
 * error messages and forwards them to the log.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private readonly tail: string[] = [];
  private exitInfo: ExitInfo | undefined;
  private stopRequested = false;
  private readonly lineListeners = new Set<(line: string, stream: "stdout" | "stderr") => void>();
  private readonly followers: FileFollower[] = [];

  constructor(
    readonly name: string,
    spec: CommandSpec,
    private readonly log: FastifyBaseLogger,
    options: ServiceOptions = {},
  ) {
    // The environment is exactly the spec's: nothing of the launcher's own environment
    // (its secrets included) reaches a sandbox.
    const files = options.logFiles;
    let fds: [number, number] | undefined;
    if (files) {
      mkdirSync(dirname(files.stdout), { recursive: true, mode: 0o700 });
      fds = [openSync(files.stdout, "a", 0o600), openSync(files.stderr, "a", 0o600)];
    }
    // Lines an earlier run left in the same files (a sandbox started again) are not ours.
    const from = files
      ? { stdout: fileSize(files.stdout), stderr: fileSize(files.stderr) }
      : undefined;
    try {
      this.child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...spec.env },
        stdio: ["ignore", fds?.[0] ?? "pipe", fds?.[1] ?? "pipe"],
        detached: true,
      });
    } finally {
      if (fds) for (const fd of fds) closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once("error", (err) => {
        this.remember(`failed to start ${spec.command}: ${err.message}`);
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
    const secrets = (options.redact ?? []).filter((s) => s.length > 0);
    for (const stream of ["stdout", "stderr"] as const) {
      const onLine = (raw: string) => {
        const line = redact(raw, secrets);
        this.remember(line);
        // Its warnings and errors reach the launcher's log at their level (in plain words);
        // everything else, and what it says while being stopped, only at debug.
        const level = this.stopRequested ? "debug" : outputLineLevel(line);
        this.log[level]({ process: name, stream }, level === "debug" ? line : plainLine(line));
        for (const listener of this.lineListeners) listener(line, stream);
      };
      if (files) {
        this.followers.push(new FileFollower(files[stream], onLine, from?.[stream]));
        continue;
      }
      const source = this.child[stream];
      if (!source) continue;
      createInterface({ input: source }).on("line", onLine);
    }
    if (files) void this.exited.then(() => this.detach());
  }

  /** Stops following its output and lets the launcher exit without waiting for it. */
  detach(): void {
    for (const follower of this.followers.splice(0)) follower.stop();
    this.child.unref();
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 50) this.tail.shift();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /**
   * The last lines the process printed (for "why did it fail"), in plain words: a JSON
   * log line (the runtime logs with pino) becomes its message and error, never raw JSON.
   */
  lastOutput(lines = 8): string {
    return this.tail.slice(-lines).map(plainLine).join("\n");
  }

  /** Resolves with the first stdout line, or rejects if the process exits or the time runs out. */
  firstStdoutLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name} printed nothing within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const onLine = (line: string, stream: "stdout" | "stderr") => {
        if (stream !== "stdout") return;
        cleanup();
        resolve(line.trim());
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
      };
      this.lineListeners.add(onLine);
      this.exited.then((info) => {
        cleanup();
        reject(
          new Error(
            `${this.name} exited (${describeExit(info)}) before it was ready:\n${this.lastOutput()}`,
          ),
        );
      });
    });
  }

  /** SIGKILL to whatever is left of the process group (after the process itself exited). */
  killGroup(): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, "SIGKILL");
  }

  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitInfo || this.child.pid === undefined) return;
    this.stopRequested = true;
    signalGroup(this.child.pid, "SIGTERM");
    const timer = setTimeout(() => {
      if (this.child.pid !== undefined) signalGroup(this.child.pid, "SIGKILL");
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything left in the group (e.g. a grandchild that ignored SIGTERM) goes too.
    signalGroup(this.child.pid, "SIGKILL");
  }
}

/**
 * The level a sandbox process's output line is logged at: the runtime's pino JSON lines
 * at level warn (40) or above, and Jupyter's `[W …]`, `[E …]`, `[C …]` lines, as warn or
 * error; every other line at debug.
 */
export function outputLineLevel(line: string): "debug" | "warn" | "error" {
  const trimmed = line.trim();
  if (trimmed.startsWith("{")) {
    try {
      const { level } = JSON.parse(trimmed) as { level?: unknown };
      if (typeof level !== "number") return "debug";
      return level >= 50 ? "error" : level >= 40 ? "warn" : "debug";
    } catch {
      return "debug";
    }
  }
  const jupyter = /^\[([DIWEC]) [^\]]*\]/.exec(trimmed)?.[1];
  return jupyter === "W" ? "warn" : jupyter === "E" || jupyter === "C" ? "error" : "debug";
}

/** A pino JSON line as `message: error message`; any other line unchanged. */
export function plainLine(line: string): string {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return line;
  try {
    const parsed = JSON.parse(trimmed) as { msg?: unknown; err?: { message?: unknown } };
    if (typeof parsed.msg !== "string") return line;
    const err = typeof parsed.err?.message === "string" ? `: ${parsed.err.message}` : "";
    return `${parsed.msg}${err}`;
  } catch {
    return line;
  }
}

function redact(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) out = out.replaceAll(secret, "[redacted]");
  return out;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

/**
 * Kills every process whose environment carries `NAME=value` (Linux /proc). The local
 * backend marks each sandbox's processes this way, so kernels Jupyter started in their own
 * sessions cannot outlive the sandbox. Returns how many were killed.
 */
export function killByEnvMarker(name: string, value: string): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return 0;
  }
  const needle = `${name}=${value}`;
  let killed = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.split("\0").includes(needle)) {
        process.kill(pid, "SIGKILL");
        killed += 1;
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return killed;
}

/** Processes still carrying the marker (for tests that check nothing was left behind). */
export function pidsWithEnvMarker(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      if (stat.split(") ")[1]?.startsWith("Z")) continue; // zombie: already dead
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(needle))
        pids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return pids;
}
