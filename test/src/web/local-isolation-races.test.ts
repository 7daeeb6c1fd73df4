import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LocalBackend,
  pidsWithEnvMarker,
  type RuntimeCommands,
  SANDBOX_ENV_MARKER,
  type SandboxState,
} from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { standInCommands } from "./stand-in-commands.js";

// Deleting a sandbox at every point of its start-up, as root (a Unix user and cgroup per
// sandbox): whatever provisioning had created by then — user, cgroup, processes, home —
// must be gone afterwards. A stand-in runtime keeps this fast; the real one is in
// local-isolation.test.ts.
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("local-isolation-races.test.ts: skipped — needs root (CI runs as root)");

let dir: string;
let backend: LocalBackend;

// The notebook server never answers: the sandbox stays starting until it is deleted.
const commands: RuntimeCommands = standInCommands(() => ({
  command: process.execPath,
  args: ["-e", "setInterval(() => {}, 1000)"],
}));

function userExists(name: string): boolean {
  try {
    execFileSync("id", ["-u", name], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

function until(id: string, predicate: (s: SandboxState | undefined) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate(backend.get(id))) return resolve();
    const stop = backend.watch(id, (e) => {
      if (predicate(e.type === "deleted" ? undefined : e.state)) {
        stop();
        resolve();
      }
    });
  });
}

describe.runIf(isRoot)("local backend as root: deleting a sandbox while it starts", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-races-"));
    mkdirSync(join(dir, "notebooks"));
    writeFileSync(join(dir, "notebooks", "01.ipynb"), "{}");
    mkdirSync(join(dir, "client"));
    writeFileSync(join(dir, "client", "index.js"), "export {};\n");
    writeFileSync(join(dir, "client", "index.d.ts"), "export {};\n");
    backend = new LocalBackend({
      sandboxesDir: join(dir, "sandboxes"),
      notebooksDir: join(dir, "notebooks"),
      clientEntry: { js: join(dir, "client", "index.js"), dts: join(dir, "client", "index.d.ts") },
      commands,
      workers: 2,
      workerThreads: 1,
      workerMemoryLimit: "256MiB",
      startTimeoutMs: 120_000,
      log: pino({ level: "silent" }),
      isolation: { mode: "users", limits: { memoryBytes: 512 * 1024 ** 2, cpus: 1, pids: 256 } },
    });
    await backend.start();
  });

  afterAll(async () => {
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const points: [string, (id: string) => Promise<void>][] = [
    ["at once (0 ms)", async () => {}],
    ["once it is Provisioning", (id) => until(id, (s) => s?.phase === "Provisioning")],
    [
      "once its workers registered",
      (id) =>
        until(
          id,
          (s) =>
            s?.phase === "Failed" ||
            (s?.conditions.some((c) => c.type === "WorkersReady") ?? false),
        ),
    ],
  ];
  points.forEach(([when, wait], i) => {
    it(`leaves no user, cgroup, process or file behind when deleted ${when}`, async () => {
      const id = `sb-race${i}`;
      await backend.create({ id, owner: `attendee-${i}`, expiresAt: Date.now() + 600_000 });
      await wait(id);
      expect(backend.get(id)?.message).not.toMatch(/stopped|exited|failed/i);
      const confined = backend.confinement(id);
      await backend.delete(id);
      expect(backend.get(id)).toBeUndefined();
      expect(userExists(`lb-race${i}`)).toBe(false);
      expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, id)).toEqual([]);
      expect(existsSync(join(dir, "sandboxes", id))).toBe(false);
      for (const d of confined?.cgroup.dirs ?? []) expect(existsSync(d)).toBe(false);
      if (i > 0) expect(confined, "user and cgroup existed before the delete").toBeDefined();
    });
  });
});
