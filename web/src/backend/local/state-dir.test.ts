import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  generateCookieSecret,
  loadOrCreateSecret,
  lockStateDir,
  prepareStateDir,
} from "./state-dir.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-state-dir-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("launcher state directory", () => {
  it("generates a secret once (0600) and reads the same one back", () => {
    const first = loadOrCreateSecret(dir, "cookie-secret", 32, generateCookieSecret);
    expect(first.created).toBe(true);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const again = loadOrCreateSecret(dir, "cookie-secret", 32, generateCookieSecret);
    expect(again).toEqual({ ...first, created: false });
  });

  it("refuses a secret file others can read, or one too short", () => {
    writeFileSync(join(dir, "cookie-secret"), "x".repeat(40));
    chmodSync(join(dir, "cookie-secret"), 0o644);
    expect(() => loadOrCreateSecret(dir, "cookie-secret", 32, generateCookieSecret)).toThrow(
      /only its owner can read.*chmod 600/,
    );
    chmodSync(join(dir, "cookie-secret"), 0o600);
    writeFileSync(join(dir, "cookie-secret"), "short");
    expect(() => loadOrCreateSecret(dir, "cookie-secret", 32, generateCookieSecret)).toThrow(
      /fewer than 32 characters: delete it/,
    );
  });

  it("refuses a state directory other users can write to", () => {
    chmodSync(dir, 0o777);
    expect(() => prepareStateDir(dir)).toThrow(/can be written by other users/);
    chmodSync(dir, 0o700);
    expect(() => prepareStateDir(dir)).not.toThrow();
  });

  it("lets one launcher at a time use it, and takes over a dead launcher's lock", () => {
    const release = lockStateDir(dir);
    // This process is alive: a lock naming it with its real start time is held.
    const held = readFileSync(join(dir, "launcher.lock"), "utf8");
    release();
    writeFileSync(join(dir, "launcher.lock"), held.replace(/^\d+/, "1"));
    // pid 1 with this process's start time: not the launcher that wrote it (pid reused).
    const again = lockStateDir(dir);
    expect(readFileSync(join(dir, "launcher.lock"), "utf8")).toBe(held);
    writeFileSync(join(dir, "launcher.lock"), `${process.ppid} 0\n`);
    expect(() => lockStateDir(dir)).not.toThrow();
    again();
  });
});
