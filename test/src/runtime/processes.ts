/**
 * Real launchbay processes for the runtime tests: the BUILT CLIs (`scheduler/dist/cli.js`,
 * `worker/dist/cli.js`) started in their own process groups, so a test can kill -9 a
 * whole worker and `afterAll` can always clean up. A process's first stdout line is its
 * address; stderr (JSON logs) is kept for failure messages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const SCHEDULER_CLI = `${REPO_ROOT}scheduler/dist/cli.js`;
export const WORKER_CLI = `${REPO_ROOT}worker/dist/cli.js`;

const STDERR_LINES = 200;

export function assertBuilt(): void {
  for (const cli of [SCHEDULER_CLI, WORKER_CLI]) {
    if (!existsSync(cli))
      throw new Error(`${cli} is missing: build first (npx tsc -b scheduler worker client)`);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One CLI process in its own process group. */
export class RuntimeProcess {
  readonly exited: Promise<Exit>;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  private exit: Exit | undefined;
  private lineWaiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      this.stdoutLines.push(line);
      const waiters = this.lineWaiters;
      this.lineWaiters = [];
      for (const w of waiters) {
        if (w.match(line)) w.resolve(line);
        else this.lineWaiters.push(w);
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_LINES) this.stderrLines.shift();
    });
  }

  static spawn(
    label: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): RuntimeProcess {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: kill(-pid) reaches everything it started
    });
    return new RuntimeProcess(label, child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The first stdout line (the address), or a rejection quoting stderr if it exits first. */
  firstLine(timeoutMs = 30_000): Promise<string> {
    if (this.stdoutLines[0] !== undefined) return Promise.resolve(this.stdoutLines[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(this.failure(`printed nothing within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.lineWaiters.push({
        match: () => true,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void this.exited.then((exit) => {
        clearTimeout(timer);
        setImmediate(() =>
          reject(
            this.failure(
              `exited (code ${exit.code}, signal ${exit.signal}) before printing its address`,
            ),
          ),
        );
      });
    });
  }

  /** Sends a signal to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  /** kill -9 the process group and wait until the process is gone. */
  async kill(): Promise<Exit> {
    this.signal("SIGKILL");
    return this.exited;
  }

  failure(what: string): Error {
    return new Error(`${this.label} ${what}; stderr:\n${this.stderrLines.join("\n")}`);
  }
}

/** Runs a CLI to completion (for --help and bad flags). */
export async function runToExit(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) =>
    child.once("close", (c) => resolve(c)),
  );
  return { code, stdout, stderr };
}
