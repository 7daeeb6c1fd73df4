import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultRuntimeCommands,
  defaultVenvDir,
  LocalBackend,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
  type SandboxRecord,
  type SandboxRecordStore,
  type SandboxState,
} from "@launchbay/web";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { standInCommands } from "./stand-in-commands.js";

// Re-adoption by a second LocalBackend of the sandboxes a first one left running
// (`onClose: "keep"`), on shared records: the real JupyterLab, a stand-in scheduler and
// worker. The launcher-level kill -9 test is launcher-restart.test.ts.
const ID = "sb-readopt1";
let dir: string;
const backends: LocalBackend[] = [];
let decoy: ChildProcess | undefined;

class MemoryRecords implements SandboxRecordStore {
  readonly rows = new Map<string, string>();
  load() {
    return {
      records: [...this.rows.values()].map((r) => JSON.parse(r) as SandboxRecord),
      invalid: [],
    };
  }
  save(record: SandboxRecord): void {
    this.rows.set(record.state.id, JSON.stringify(record));
  }
  remove(id: string): void {
    this.rows.delete(id);
  }
}

function makeBackend(records: SandboxRecordStore): LocalBackend {
  const notebooks = join(dir, "notebooks");
  const client = join(dir, "client");
  mkdirSync(notebooks, { recursive: true });
  mkdirSync(client, { recursive: true });
  writeFileSync(join(client, "index.js"), "export const hello = 1;\n");
  writeFileSync(join(client, "index.d.ts"), "export declare const hello: number;\n");
  const real = defaultRuntimeCommands(defaultVenvDir());
  const backend = new LocalBackend({
    sandboxesDir: join(dir, "sandboxes"),
    notebooksDir: notebooks,
    clientEntry: { js: join(client, "index.js"), dts: join(client, "index.d.ts") },
    commands: standInCommands(real.jupyter),
    workers: 1,
    workerThreads: 1,
    workerMemoryLimit: "1GiB",
    startTimeoutMs: 90_000,
    log: pino({ level: "silent" }),
    records,
    logsDir: join(dir, "logs"),
    onClose: "keep",
  });
  backends.push(backend);
  return backend;
}

function until(b: LocalBackend, predicate: (s: SandboxState | undefined) => boolean) {
  return new Promise<SandboxState | undefined>((resolve) => {
    if (predicate(b.get(ID))) return resolve(b.get(ID));
    const stop = b.watch(ID, (event) => {
      const state = event.type === "deleted" ? undefined : event.state;
      if (predicate(state)) {
        stop();
        resolve(state);
      }
    });
  });
}

/** A first launcher starts the sandbox, then goes away leaving it running. */
async function leftRunning(records: MemoryRecords): Promise<number[]> {
  const first = makeBackend(records);
  await first.start();
  await first.create({ id: ID, owner: "alice", expiresAt: Date.now() + 3_600_000 });
  expect((await until(first, (s) => s?.phase === "Ready" || s?.phase === "Failed"))?.phase).toBe(
    "Ready",
  );
  const pids = first.servicePids(ID).sort();
  await first.close();
  expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, ID).sort()).toEqual(expect.arrayContaining(pids));
  return pids;
}

beforeAll(() => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
});

afterEach(async () => {
  decoy?.kill("SIGKILL");
  decoy = undefined;
  // The last backend stops whatever is left.
  const last = backends.at(-1);
  if (last?.get(ID)) await last.delete(ID);
  backends.length = 0;
  expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, ID)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe("local backend re-adoption after a restart", () => {
  it("re-adopts a running sandbox with its very processes, serves it, and deletes it cleanly", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-readopt-"));
    const records = new MemoryRecords();
    const pids = await leftRunning(records);
    const second = makeBackend(records);
    await second.start();
    expect(second.get(ID)).toMatchObject({ phase: "Ready", owner: "alice" });
    expect(second.servicePids(ID).sort()).toEqual(pids);
    const notebook = second.upstream(ID, "notebook")!;
    const res = await fetch(new URL("api/status", notebook.baseUrl), { headers: notebook.headers });
    expect(res.status).toBe(200);
    await second.delete(ID);
    expect(records.rows.size).toBe(0);
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, ID)).toEqual([]);
  });

  it("refuses to adopt a recorded pid that now belongs to another process (pid reuse): the sandbox is Failed and that process is left alone", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-readopt-"));
    const records = new MemoryRecords();
    await leftRunning(records);
    // The worker's pid now names a process that is not the sandbox's (no marker, other start).
    decoy = spawn("sleep", ["300"], { stdio: "ignore" });
    const decoyStat = readFileSync(`/proc/${decoy.pid}/stat`, "latin1");
    const record = JSON.parse(records.rows.get(ID)!) as SandboxRecord;
    const worker = record.local.processes.find((p) => p.name.startsWith("worker"))!;
    worker.pid = decoy.pid!;
    worker.startTime = Number(decoyStat.slice(decoyStat.lastIndexOf(") ") + 2).split(" ")[19]);
    records.save(record);

    const second = makeBackend(records);
    await second.start();
    const state = await until(second, (s) => s?.phase === "Failed");
    expect(state?.message).toMatch(/worker 1 stopped while the launcher was not running/);
    // Every process of the sandbox is gone (the real worker found by its marker); the
    // unrelated process holding the recorded pid was not touched.
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, ID)).toEqual([]);
    expect(decoy.exitCode).toBeNull();
    const now = readFileSync(`/proc/${decoy.pid}/stat`, "latin1");
    expect(now.slice(now.lastIndexOf(") ") + 2).split(" ")[19]).toBe(String(worker.startTime));
  });
});
