import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import sqlite, { type Statement } from "node-sqlite3-wasm";

// A CommonJS module: its classes are properties of the default export under Node's ESM.
const { Database } = sqlite;
type Database = InstanceType<typeof Database>;
import { formatIssues } from "../../config.js";
import type { WaitingEntry, WaitingLineStore } from "../../core/waiting-line.js";
import { LauncherError } from "../../errors.js";
import {
  type SandboxRecord,
  type SandboxRecordStore,
  sandboxRecordSchema,
} from "./sandbox-record.js";

/** The database file in the launcher's state directory. */
export const STATE_DB_FILE = "launcher.db";
const SCHEMA_VERSION = 1;

/**
 * The local backend's launcher state in SQLite (`<state dir>/launcher.db`, mode 0600):
 * one row per sandbox and one per attendee in the waiting line, written synchronously on every change so a `kill -9` at any moment
 * leaves the last change on disk (rollback journal, `synchronous=FULL`).
 *
 * SQLite compiled to WebAssembly (`node-sqlite3-wasm`, file I/O through Node's own `fs`),
 * not the native `better-sqlite3`: with no prebuilt binary reachable here the native
 * module compiles from source against one Node ABI, which then fails to load on the
 * other Node the project runs on (20 in CI, 24 in the images) and needs a C++ toolchain
 * in every image build. The state is a handful of rows per sandbox, so speed is moot.
 */
export class StateDb implements SandboxRecordStore, WaitingLineStore {
  private readonly db: Database;
  private readonly upsert: Statement;
  private readonly del: Statement;
  private readonly upsertWaiting: Statement;
  private readonly delWaiting: Statement;

  private constructor(readonly path: string) {
    if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
    chmodSync(path, 0o600);
    try {
      this.db = new Database(path);
      this.db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;");
      this.migrate();
    } catch (err) {
      throw new LauncherError(
        "invalid-config",
        `cannot open the launcher's state database ${path}: ${(err as Error).message}; move the file away to start with no sandboxes`,
        { cause: err },
      );
    }
    this.upsert = this.db.prepare(
      "INSERT INTO sandboxes (id, record) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record",
    );
    this.del = this.db.prepare("DELETE FROM sandboxes WHERE id = ?");
    this.upsertWaiting = this.db.prepare(
      "INSERT INTO waiting_line (id, owner, joined_at, last_seen_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
    );
    this.delWaiting = this.db.prepare("DELETE FROM waiting_line WHERE id = ?");
  }

  static open(stateDir: string): StateDb {
    return new StateDb(join(stateDir, STATE_DB_FILE));
  }

  private migrate(): void {
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" +
        "CREATE TABLE IF NOT EXISTS sandboxes (id TEXT PRIMARY KEY, record TEXT NOT NULL);" +
        // Added beside schema 1 (an older database simply gets the empty table).
        "CREATE TABLE IF NOT EXISTS waiting_line (id TEXT PRIMARY KEY, owner TEXT NOT NULL, joined_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL);",
    );
    const row = this.db.get("SELECT value FROM meta WHERE key = 'schema'") as {
      value: string;
    } | null;
    if (!row) {
      this.db.run("INSERT INTO meta (key, value) VALUES ('schema', ?)", [String(SCHEMA_VERSION)]);
    } else if (Number(row.value) !== SCHEMA_VERSION) {
      throw new Error(
        `it has schema version ${row.value}, this launcher understands ${SCHEMA_VERSION}`,
      );
    }
  }

  load(): { records: SandboxRecord[]; invalid: { id: string; problem: string }[] } {
    const records: SandboxRecord[] = [];
    const invalid: { id: string; problem: string }[] = [];
    const rows = this.db.all("SELECT id, record FROM sandboxes ORDER BY rowid") as {
      id: string;
      record: string;
    }[];
    for (const row of rows) {
      let json: unknown;
      try {
        json = JSON.parse(row.record);
      } catch (err) {
        invalid.push({ id: row.id, problem: `not JSON: ${(err as Error).message}` });
        continue;
      }
      const parsed = sandboxRecordSchema.safeParse(json);
      if (!parsed.success) invalid.push({ id: row.id, problem: formatIssues(parsed.error) });
      else if (parsed.data.state.id !== row.id)
        invalid.push({ id: row.id, problem: `the record names sandbox ${parsed.data.state.id}` });
      else records.push(parsed.data);
    }
    return { records, invalid };
  }

  save(record: SandboxRecord): void {
    this.upsert.run([record.state.id, JSON.stringify(record)]);
  }

  remove(id: string): void {
    this.del.run([id]);
  }

  /** The waiting line in join order. */
  loadWaiting(): WaitingEntry[] {
    const rows = this.db.all(
      "SELECT id, owner, joined_at, last_seen_at FROM waiting_line ORDER BY joined_at, rowid",
    ) as { id: string; owner: string; joined_at: number; last_seen_at: number }[];
    return rows.map((r) => ({
      id: r.id,
      owner: r.owner,
      joinedAt: Number(r.joined_at),
      lastSeenAt: Number(r.last_seen_at),
    }));
  }

  saveWaiting(entry: WaitingEntry): void {
    this.upsertWaiting.run([entry.id, entry.owner, entry.joinedAt, entry.lastSeenAt]);
  }

  removeWaiting(id: string): void {
    this.delWaiting.run([id]);
  }

  close(): void {
    if (!this.db.isOpen) return;
    this.upsert.finalize();
    this.del.finalize();
    this.upsertWaiting.finalize();
    this.delWaiting.finalize();
    this.db.close();
  }
}
