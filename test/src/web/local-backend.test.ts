import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { until } from "./sandbox-until.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  defaultRuntimeCommands,
  defaultVenvDir,
  LocalBackend,
  pidsWithEnvMarker,
  type RuntimeCommands,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

// The real JupyterLab from the set-up venv, with a stand-in scheduler and workers so this
// file tests the local backend's process handling on its own (the browser test runs the
// real runtime end to end).
const standIn = fileURLToPath(new URL("./fixtures/stand-in-runtime.mjs", import.meta.url));
let dir: string;
let backend: LocalBackend | undefined;

function commands(env: Record<string, string> = {}): RuntimeCommands {
  const real = defaultRuntimeCommands(defaultVenvDir());
  return {
    scheduler: ({ token }) => ({
      command: process.execPath,
      args: [standIn, "scheduler"],
      env: { LAUNCHBAY_TOKEN: token, ...env },
    }),
    worker: ({ address, token, name }) => ({
      command: process.execPath,
      args: [standIn, "worker", address, "--name", name],
      env: { LAUNCHBAY_TOKEN: token },
    }),
    jupyter: real.jupyter,
  };
}

function makeBackend(
  env: Record<string, string> = {},
  expiryCheckMs = 1000,
  extra: { idleTimeoutMs?: number; now?: () => number } = {},
): LocalBackend {
  const notebooks = join(dir, "notebooks");
  const client = join(dir, "client");
  mkdirSync(notebooks, { recursive: true });
  mkdirSync(client, { recursive: true });
  writeFileSync(
    join(notebooks, "01-hello.ipynb"),
    JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
  );
  writeFileSync(join(client, "index.js"), "export const hello = 1;\n");
  writeFileSync(join(client, "index.d.ts"), "export declare const hello: number;\n");
  return new LocalBackend({
    sandboxesDir: join(dir, "sandboxes"),
    notebooksDir: notebooks,
    clientEntry: { js: join(client, "index.js"), dts: join(client, "index.d.ts") },
    commands: commands(env),
    workers: 3,
    workerThreads: 1,
    workerMemoryLimit: "1GiB",
    startTimeoutMs: 90_000,
    log: pino({ level: "silent" }),
    expiryCheckMs,
    ...extra,
  });
}

beforeAll(() => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
});

afterEach(async () => {
  await backend?.close();
  backend = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("local backend", () => {
  it("expires an attendee's sandbox no request reached for the idle timeout, and keeps one in use", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-local-"));
    let now = Date.now();
    const minute = 60_000;
    backend = makeBackend({}, 50, { idleTimeoutMs: 30 * minute, now: () => now });
    await backend.start();
    const expiresAt = now + 240 * minute;
    await backend.create({ id: "sb-idle", owner: "alice", expiresAt });
    await backend.create({ id: "sb-busy", owner: "bob", expiresAt });
    now += 20 * minute;
    backend.recordActivity("sb-busy"); // bob's notebook is used 20 minutes in
    now += 11 * minute; // alice: 31 minutes without a request; bob: 11
    const idle = await until(backend, "sb-idle", (s) => s === undefined || s.phase === "Expiring");
    expect(idle === undefined || idle.phase === "Expiring").toBe(true);
    // Decided in the same pass over the same clock: bob's sandbox stays.
    expect(backend.get("sb-busy")?.phase).not.toBe("Expiring");
    expect(backend.get("sb-busy")?.owner).toBe("bob");
    await until(backend, "sb-idle", (s) => s === undefined);
  });

  it("starts a scheduler, 3 workers and Jupyter, serves the notebook, and leaves nothing behind on delete", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-local-"));
    backend = makeBackend();
    await backend.start();
    const seen: string[] = [];
    backend.watch("sb-local1", (e) => {
      const last = seen[seen.length - 1];
      if (last !== e.state.phase) seen.push(e.state.phase);
    });
    await backend.create({ id: "sb-local1", owner: "alice", expiresAt: Date.now() + 3_600_000 });
    const ready = await until(
      backend,
      "sb-local1",
      (s) => s?.phase === "Ready" || s?.phase === "Failed",
    );
    expect(ready?.message).toBe("Your sandbox is running");
    expect(ready).toMatchObject({ phase: "Ready", workers: { ready: 3, desired: 3 } });
    expect(ready!.conditions.map((c) => c.type).sort()).toEqual([
      "NotebookReady",
      "Ready",
      "SchedulerReady",
      "WorkersReady",
    ]);
    expect(seen).toEqual(["Pending", "Provisioning", "Ready"]);

    const work = join(dir, "sandboxes", "sb-local1", "work");
    expect(existsSync(join(work, "01-hello.ipynb"))).toBe(true);
    const shim = JSON.parse(
      readFileSync(
        join(dir, "sandboxes", "sb-local1", "node_modules", "launchbay", "package.json"),
        "utf8",
      ),
    );
    expect(shim).toMatchObject({ main: "./index.js", types: "./index.d.ts" });

    const notebook = backend.upstream("sb-local1", "notebook")!;
    const contents = await fetch(new URL("api/contents", notebook.baseUrl), {
      headers: notebook.headers,
    });
    expect(contents.status).toBe(200);
    expect((await contents.json()).content.map((f: { name: string }) => f.name)).toEqual([
      "01-hello.ipynb",
    ]);
    const noToken = await fetch(new URL("api/contents", notebook.baseUrl));
    expect(noToken.status).toBe(403);
    const dashboard = backend.upstream("sb-local1", "dashboard")!;
    expect((await fetch(dashboard.baseUrl, { headers: dashboard.headers })).status).toBe(200);

    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, "sb-local1").length).toBeGreaterThanOrEqual(5);
    await backend.delete("sb-local1");
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, "sb-local1")).toEqual([]);
    expect(existsSync(join(dir, "sandboxes", "sb-local1"))).toBe(false);
    expect(backend.get("sb-local1")).toBeUndefined();
  });

  it("reports a scheduler that cannot start as Failed with its output, and stops the rest", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-local-"));
    backend = makeBackend({ STAND_IN_FAIL: "scheduler" });
    await backend.start();
    await backend.create({ id: "sb-local2", owner: "bob", expiresAt: Date.now() + 3_600_000 });
    const failed = await until(backend, "sb-local2", (s) => s?.phase === "Failed");
    expect(failed!.message).toMatch(/scheduler (exited|stopped unexpectedly) \(exit code 3\)/);
    expect(failed!.message).toContain("refusing to start");
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, "sb-local2")).toEqual([]);
  });

  it("expires a sandbox once its time is up and cleans up", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-local-"));
    backend = makeBackend({}, 100);
    await backend.start();
    await backend.create({ id: "sb-local3", owner: "carol", expiresAt: Date.now() + 600_000 });
    await until(backend, "sb-local3", (s) => s?.phase === "Ready" || s?.phase === "Failed");
    expect(backend.get("sb-local3")?.phase).toBe("Ready");
    await backend.extend("sb-local3", Date.now() - 1);
    await until(backend, "sb-local3", (s) => s === undefined);
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, "sb-local3")).toEqual([]);
    expect(existsSync(join(dir, "sandboxes", "sb-local3"))).toBe(false);
  });

  it("stops every sandbox when it closes", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-local-"));
    backend = makeBackend();
    await backend.start();
    await backend.create({ id: "sb-local4", owner: "dan", expiresAt: Date.now() + 600_000 });
    await until(backend, "sb-local4", (s) => s?.phase === "Provisioning");
    await backend.close();
    backend = undefined;
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, "sb-local4")).toEqual([]);
  });
});
