import { type ChildProcess, spawn } from "node:child_process";
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultVenvDir } from "@launchbay/web";
import { afterEach, describe, expect, it, vi } from "vitest";

// The launcher as a real process (web/dist/main.js), started the way an organiser starts
// it, with stderr and stdout going to a pipe — i.e. into a log, not onto a terminal.
const MAIN = fileURLToPath(new URL("../../../web/dist/main.js", import.meta.url));
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("launcher-start-up.test.ts: skipped — switching to `nobody` needs root");

interface Run {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  /** Resolves once the launcher says where it listens, or rejects when it exits first. */
  listening: Promise<void>;
  exited: Promise<number | null>;
}

let dir: string;
const runs: Run[] = [];

function launch(args: string[], env: Record<string, string>, asNobody: boolean): Run {
  const command = asNobody ? "setpriv" : process.execPath;
  const argv = asNobody
    ? [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "--",
        process.execPath,
        MAIN,
        ...args,
      ]
    : [MAIN, ...args];
  const child = spawn(command, argv, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      stderr += d;
      if (/launchbay: open http/.test(stderr)) resolve();
    });
    exited.then((code) => reject(new Error(`launcher exited (${code}): ${stderr}`)));
  });
  listening.catch(() => undefined);
  const run = { child, output: () => ({ stdout, stderr }), listening, exited };
  runs.push(run);
  return run;
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
    await run.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(isRoot)("launcher start-up", () => {
  it("as a normal user the launcher warns that sandboxes are not isolated, and refuses a non-loopback host", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-startup-"));
    // What `nobody` needs: a place for its sandboxes and cache, and a JupyterLab to find.
    const venv = join(dir, "venv");
    mkdirSync(join(venv, "bin"), { recursive: true });
    writeFileSync(join(venv, "bin", "jupyter-lab"), "#!/bin/sh\n", { mode: 0o755 });
    const env = {
      HOME: dir,
      LAUNCHBAY_CACHE: join(dir, "cache"),
      LAUNCHBAY_SANDBOXES_DIR: join(dir, "sandboxes"),
      LAUNCHBAY_VENV: venv,
    };
    mkdirSync(join(dir, "cache"), { recursive: true });
    mkdirSync(join(dir, "sandboxes"), { recursive: true });
    for (const d of ["", "cache", "sandboxes", "venv", "venv/bin", "venv/bin/jupyter-lab"])
      chownSync(join(dir, d), NOBODY, NOBODY);

    const open = launch(["--port", "0"], env, true);
    await open.listening;
    expect(open.output().stderr).toMatch(/sandboxes are NOT isolated from each other/);
    const tokenFile = join(dir, "cache", "organiser-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(tokenFile).uid).toBe(NOBODY);
    expect(open.output().stderr).toContain(`organiser token written to ${tokenFile}`);
    expect(open.output().stderr + open.output().stdout).not.toContain(token);

    const exposed = launch(["--port", "0", "--host", "0.0.0.0"], env, true);
    expect(await exposed.exited).toBe(1);
    expect(exposed.output().stderr).toMatch(
      /host 0\.0\.0\.0 would let other machines launch sandboxes.*run the launcher as root/,
    );
  });

  it("as root the launcher never writes a generated organiser token to its log: a 0600 file instead", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-startup-"));
    const env = {
      HOME: dir,
      LAUNCHBAY_CACHE: join(dir, "cache"),
      LAUNCHBAY_SANDBOXES_DIR: join(dir, "sandboxes"),
      LAUNCHBAY_VENV: defaultVenvDir(),
      LAUNCHBAY_LOG_LEVEL: "trace",
    };
    const run = launch(["--port", "0", "--host", "0.0.0.0"], env, false);
    await run.listening;
    const tokenFile = join(dir, "cache", "organiser-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // stdout and stderr are two pipes: the log line may arrive after the notice.
    await vi.waitFor(() => expect(run.output().stdout).toContain("Launcher listening"));
    const { stdout, stderr } = run.output();
    expect(stderr).not.toMatch(/NOT isolated/);
    expect(stderr + stdout).not.toContain(token);
  });
});
