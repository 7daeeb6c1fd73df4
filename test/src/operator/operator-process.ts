import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../../operator/dist/main.js", import.meta.url));

export interface OperatorProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line (past or future) matching predicate. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGKILL the process group (no cleanup: a crash). */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Runs the built operator (operator/dist/main.js) against a kubeconfig. */
export function startOperator(
  kubeconfig: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): OperatorProcess {
  const child = spawn(
    process.execPath,
    [MAIN, "--kubeconfig", kubeconfig, "--health-port", "0", ...args],
    {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let stderr = "";
  let buffer = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        for (const w of [...waiters]) {
          if (w.predicate(parsed)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(parsed);
          }
        }
      } catch {
        // not JSON: ignore
      }
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    child,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 60_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `operator log line not seen in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`,
              ),
            ),
          timeoutMs,
        );
        exited.then((code) => {
          clearTimeout(timer);
          reject(
            new Error(
              `operator exited (${code}) before the log line; stderr: ${stderr.slice(-2000)}`,
            ),
          );
        });
        waiters.push({
          predicate,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) killGroup("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) killGroup("SIGTERM");
      return exited;
    },
  };
}

export const isMsg = (msg: string) => (line: Record<string, unknown>) => line.msg === msg;
