import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sqlite from "node-sqlite3-wasm";

const { Database } = sqlite;
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SandboxRecord } from "./sandbox-record.js";
import { StateDb } from "./state-db.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-state-db-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (id: string): SandboxRecord => ({
  state: {
    id,
    owner: "att-1",
    phase: "Ready",
    conditions: [{ type: "Ready", status: "True", reason: "Running", message: "" }],
    message: "Your sandbox is running",
    createdAt: 1,
    readyAt: 2,
    expiresAt: 3,
    workers: { ready: 1, desired: 1 },
    warm: false,
  },
  local: {
    root: `/sandboxes/${id}`,
    runtimeToken: "runtime-token",
    notebookToken: "notebook-token",
    notebookPort: 40000,
    schedulerHttp: "http://127.0.0.1:40001/",
    cgroup: false,
    processes: [{ name: "scheduler", pid: 10, startTime: 20 }],
  },
});

describe("launcher state database", () => {
  it("keeps sandbox records across a reopen, in a file only its owner can read", () => {
    const db = StateDb.open(dir);
    db.save(record("sb-a"));
    db.save(record("sb-b"));
    db.save({ ...record("sb-a"), state: { ...record("sb-a").state, phase: "Expiring" } });
    db.remove("sb-b");
    db.close();
    expect(statSync(join(dir, "launcher.db")).mode & 0o777).toBe(0o600);
    const again = StateDb.open(dir);
    const { records, invalid } = again.load();
    expect(invalid).toEqual([]);
    expect(records.map((r) => [r.state.id, r.state.phase])).toEqual([["sb-a", "Expiring"]]);
    expect(records[0]!.local).toEqual(record("sb-a").local);
    again.close();
  });

  it("reports a record it cannot read instead of guessing", () => {
    StateDb.open(dir).close();
    const raw = new Database(join(dir, "launcher.db"));
    raw.run("INSERT INTO sandboxes (id, record) VALUES (?, ?)", ["sb-x", '{"state":{}}']);
    raw.close();
    const db = StateDb.open(dir);
    const { records, invalid } = db.load();
    expect(records).toEqual([]);
    expect(invalid[0]!.id).toBe("sb-x");
    expect(invalid[0]!.problem).toMatch(/state\.id/);
    db.close();
  });

  it("keeps the waiting line in join order across reopening, with each attendee's last-seen time", () => {
    const first = StateDb.open(dir);
    first.saveWaiting({ id: "sb-b", owner: "b", joinedAt: 20, lastSeenAt: 20 });
    first.saveWaiting({ id: "sb-a", owner: "a", joinedAt: 10, lastSeenAt: 10 });
    first.saveWaiting({ id: "sb-c", owner: "c", joinedAt: 30, lastSeenAt: 30 });
    first.saveWaiting({ id: "sb-a", owner: "a", joinedAt: 10, lastSeenAt: 15 });
    first.removeWaiting("sb-c");
    first.close();
    const again = StateDb.open(dir);
    expect(again.loadWaiting()).toEqual([
      { id: "sb-a", owner: "a", joinedAt: 10, lastSeenAt: 15 },
      { id: "sb-b", owner: "b", joinedAt: 20, lastSeenAt: 20 },
    ]);
    again.close();
  });
});
