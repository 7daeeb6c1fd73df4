import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultVenvDir } from "@launchbay/web";
import { afterEach, describe, expect, it } from "vitest";

// The launcher as `npm start` runs it, once on a real pseudo-terminal (util-linux
// `script`, which gives the command a PTY as its stdin, stdout and stderr) and once with
// its output going to pipes, as a service manager or `npm start > log` would.
const MAIN = fileURLToPath(new URL("../../../web/dist/main.js", import.meta.url));
const hasScript = spawnSync("script", ["--version"]).status === 0;
if (!hasScript)
  console.warn("launcher-log-output.test.ts: PTY tests skipped — no util-linux `script`");

interface Run {
  child: ChildProcess;
  /** Everything written so far (PTY: stdout and stderr interleaved as on the terminal). */
  output: () => string;
  /** Resolves with the output once `pattern` appears; rejects when the process exits first. */
  waitFor: (pattern: RegExp) => Promise<string>;
  exited: Promise<void>;
}

let dir: string;
const runs: Run[] = [];

function start(args: string[], terminal: boolean): Run {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    LAUNCHBAY_CACHE: join(dir, "cache"),
    LAUNCHBAY_STATE_DIR: join(dir, "state"),
    LAUNCHBAY_SANDBOXES_DIR: join(dir, "sandboxes"),
    LAUNCHBAY_VENV: defaultVenvDir(),
    TERM: "xterm",
  };
  const command = [process.execPath, MAIN, "--port", "0", ...args];
  // `exec` makes the launcher the PTY's session leader: SIGTERM to `script` reaches it.
  const child = terminal
    ? spawn("script", ["-qfec", `exec ${command.map((a) => `'${a}'`).join(" ")}`, "/dev/null"], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      })
    : spawn(command[0]!, command.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (data: Buffer) => {
    text += data.toString("utf8");
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(text)) return;
        waiters.delete(check);
        resolve(text);
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        waiters.delete(check);
        reject(new Error(`launcher exited before ${pattern}:\n${text}`));
      });
    });
  const run = { child, output: () => text, waitFor, exited };
  runs.push(run);
  return run;
}

/** Requests that Fastify would log one by one, then a sign-in that logs a warning. */
async function traffic(output: string): Promise<void> {
  const base = /open (http:\/\/localhost:\d+)\//.exec(output)![1]!;
  for (let i = 0; i < 5; i += 1) expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/`)).status).toBe(200);
  const signIn = await fetch(`${base}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
    body: "token=not-the-organiser-token",
    redirect: "manual",
  });
  expect(signIn.status).toBeGreaterThanOrEqual(300);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").replaceAll("\r", "");

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
    await run.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the launcher's logs", () => {
  it.runIf(hasScript)(
    "on a terminal: readable and quiet, with the address and organiser token shown last",
    async () => {
      dir = mkdtempSync(join(tmpdir(), "lb-logs-"));
      const run = start([], true);
      const atStart = plain(await run.waitFor(/organiser token \(shown once, not logged\): \S+/));
      const token = readFileSync(join(dir, "state", "organiser-token"), "utf8").trim();
      const lines = atStart.split("\n").filter((l) => l.trim() !== "");
      // Every start-up log line came before the notice; the token line is the last one.
      expect(lines.at(-1)).toContain(`organiser token (shown once, not logged): ${token}`);
      expect(lines.at(-2)).toMatch(/^launchbay: open http:\/\/localhost:\d+\/ to launch/);
      expect(atStart).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: Launcher listening/m);
      expect(atStart).not.toMatch(/^\{"level"/m);

      await traffic(atStart);
      const after = plain(await run.waitFor(/WARN.*Organiser sign-in with a wrong token/));
      // No line per request on a terminal; the warning is one readable line.
      expect(after).not.toMatch(/incoming request|request completed/);
      expect(after).not.toMatch(/^\{"level"/m);
      // The token is on the terminal once, in the notice, and in no log line.
      expect(after.split(token).length - 1).toBe(1);
    },
  );

  it.runIf(hasScript)("on a terminal with --log-format json: JSON lines", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-logs-"));
    const run = start(["--log-format", "json"], true);
    const output = plain(await run.waitFor(/organiser token \(shown once, not logged\)/));
    expect(output).toMatch(/^\{"level":30,.*"msg":"Launcher listening"\}$/m);
  });

  it("into a pipe: JSON lines, every request logged, the token never written", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-logs-"));
    const run = start([], false);
    const atStart = await run.waitFor(/organiser token kept in|organiser token written to/);
    await traffic(atStart);
    const after = await run.waitFor(/"msg":"Organiser sign-in with a wrong token"/);
    const logLines = after.split("\n").filter((l) => l.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(10);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(after).toContain('"msg":"request completed"');
    const token = readFileSync(join(dir, "state", "organiser-token"), "utf8").trim();
    expect(after).not.toContain(token);
  });
});
