import type { ExitInfo } from "./service-process.js";
import { isSameProcess, type ProcessIdentity } from "./process-identity.js";
import { lastLines, type ServiceLogFiles } from "./service-logs.js";

/**
 * A sandbox service started by an earlier launcher process and taken over by this one
 * after a restart. It is no longer our child, so its exit is noticed by polling its
 * identity (pid + start time + the sandbox's environment marker); it is stopped through
 * its process group as a `ServiceProcess` is.
 */
export class AdoptedProcess {
  readonly exited: Promise<ExitInfo>;
  private gone = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly name: string,
    readonly identity: ProcessIdentity,
    private readonly marker: string,
    private readonly logs: ServiceLogFiles,
    private readonly redactions: string[],
    pollMs = 500,
  ) {
    let resolveExit!: (info: ExitInfo) => void;
    this.exited = new Promise((resolve) => {
      resolveExit = resolve;
    });
    this.timer = setInterval(() => {
      if (this.alive()) return;
      this.gone = true;
      clearInterval(this.timer);
      // Not our child: its exit status went to whoever reaped it.
      resolveExit({ code: null, signal: null });
    }, pollMs);
    this.timer.unref();
  }

  get pid(): number {
    return this.identity.pid;
  }

  get hasExited(): boolean {
    return this.gone;
  }

  alive(): boolean {
    return isSameProcess(this.identity, this.marker);
  }

  lastOutput(lines = 8): string {
    const text = [...lastLines(this.logs.stdout, lines), ...lastLines(this.logs.stderr, lines)]
      .slice(-lines)
      .join("\n");
    let out = text;
    for (const secret of this.redactions) out = out.replaceAll(secret, "[redacted]");
    return out;
  }

  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive()) return;
    signalGroup(this.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (this.alive() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    signalGroup(this.pid, "SIGKILL");
    while (this.alive()) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Stops watching without touching the process (the launcher leaves it running). */
  detach(): void {
    clearInterval(this.timer);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
