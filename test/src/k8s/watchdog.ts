import { spawn } from "node:child_process";
import type { Socket } from "node:net";

/**
 * The watchdog's program (plain JavaScript, so it runs with `node -e` from both the
 * TypeScript sources under vitest and the built files). It reads lines on stdin —
 * `pid <n>` (a process group to stop), `dir <path>` (to delete), `done` (all was
 * stopped normally) — and when stdin closes without `done`, meaning the harness
 * process died (a signal, even SIGKILL), it stops the groups newest first (SIGTERM,
 * SIGKILL after 10 s each) and deletes the directory.
 */
const watchdogSource = `
const fs = require("node:fs");
const pids = []; let dir; let done = false; let buffered = "";
const alive = (p) => { try { process.kill(p, 0); } catch { return false; }
  try { return !/\\) Z /.test(fs.readFileSync("/proc/" + p + "/stat", "utf8")); } catch { return true; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  for (let i = buffered.indexOf("\\n"); i >= 0; i = buffered.indexOf("\\n")) {
    const line = buffered.slice(0, i); buffered = buffered.slice(i + 1);
    if (line === "done") done = true;
    else if (line.startsWith("pid ")) pids.push(Number(line.slice(4)));
    else if (line.startsWith("dir ")) dir = line.slice(4);
  }
});
process.stdin.on("end", async () => {
  if (done) process.exit(0);
  for (const pid of pids.reverse()) {
    try { process.kill(-pid, "SIGTERM"); } catch {}
    const deadline = Date.now() + 10000;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    try { process.kill(-pid, "SIGKILL"); } catch {}
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
`;

/** Stops a control plane's processes if this Node.js process dies without calling stop(). */
export interface Watchdog {
  watch(pid: number): void;
  /** The normal stop is done (or starting): the watchdog exits without touching anything. */
  release(): void;
}

export function startWatchdog(dataDir: string): Watchdog {
  const child = spawn(process.execPath, ["-e", watchdogSource], {
    detached: true, // its own session: a Ctrl-C or a group kill aimed at the test run does not reach it
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.unref();
  const stdin = child.stdin as (Socket & NodeJS.WritableStream) | null;
  if (!stdin) throw new Error("the watchdog process has no stdin pipe");
  stdin.unref(); // the open pipe must not keep this process alive
  stdin.on("error", () => {}); // watchdog gone: nothing left to tell it
  stdin.write(`dir ${dataDir}\n`);
  let released = false;
  return {
    watch(pid) {
      if (!released) stdin.write(`pid ${pid}\n`);
    },
    release() {
      if (released) return;
      released = true;
      stdin.end("done\n");
    },
  };
}
