/**
 * A launchbay CLI started as a child process: resolves with the first line it prints on
 * stdout (its address), keeps the tail of its stderr for error messages, and stops it
 * with SIGTERM (then SIGKILL after a grace period).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LaunchbayError } from "../errors.js";

const STDERR_TAIL_LINES = 30;

export class CliProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly stderrTail: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    /** What it is, for messages: "worker local-0 (launchbay-worker)". */
    readonly label: string,
    /** Its name (a worker's --name), or the label. */
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      });
    });
    child.stderr?.setEncoding("utf8");
    if (child.stderr) {
      createInterface({ input: child.stderr }).on("line", (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Starts `node <script> ...args` and waits for its first stdout line. */
  static async start(
    label: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    timeoutMs: number,
    name = label,
  ): Promise<{ process: CliProcess; firstLine: string }> {
    const child = spawn(process.execPath, [script, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc = new CliProcess(label, name, child);
    const stdout = createInterface({ input: child.stdout! });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(proc.failure(`did not print its address within ${timeoutMs} ms`)),
          timeoutMs,
        );
        stdout.once("line", (line) => {
          clearTimeout(timer);
          resolve(line.trim());
        });
        child.once("error", (error) => {
          clearTimeout(timer);
          reject(proc.failure(`could not be started: ${error.message}`));
        });
        void proc.exited.then(({ code, signal }) => {
          clearTimeout(timer);
          // Let the stderr reader drain before quoting it.
          setImmediate(() =>
            reject(
              proc.failure(`exited (${signal ?? `code ${code}`}) before printing its address`),
            ),
          );
        });
      });
      // Keep draining stdout so the child never blocks on a full pipe.
      stdout.on("line", () => {});
      return { process: proc, firstLine };
    } catch (error) {
      await proc.stop(1000);
      throw error;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL now (synchronous; used on process exit). */
  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  private failure(what: string): LaunchbayError {
    const tail = this.stderrTail.length
      ? `; its stderr ends with:\n  ${this.stderrTail.slice(-10).join("\n  ")}`
      : "";
    return new LaunchbayError("cluster-start-failed", `${this.label} ${what}${tail}`);
  }
}
