import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WorkArchive } from "./work-archive.js";

const DAY = 86_400_000;
const isRoot = process.getuid?.() === 0;
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function setUp(retentionMs: number) {
  dir = mkdtempSync(join(tmpdir(), "lb-archive-unit-"));
  const clock = { now: 1_000_000 };
  const archive = new WorkArchive({
    dir: join(dir, "archives"),
    retentionMs,
    log: pino({ level: "silent" }),
    now: () => clock.now,
  });
  const work = join(dir, "work");
  mkdirSync(join(work, "sub"), { recursive: true });
  writeFileSync(join(work, "a.ipynb"), "{}");
  writeFileSync(join(work, "sub", "b.txt"), "bee");
  writeFileSync(join(work, ".hidden"), "x");
  return { archive, clock, work };
}

describe("work archive", () => {
  it("keeps work for the retention period, restores it, then the sweep deletes it", async () => {
    const { archive, clock, work } = setUp(7 * DAY);
    expect(await archive.save("alice", work, "sb-1")).toBe(true);
    expect(statSync(join(dir, "archives")).mode & 0o777).toBe(0o700);
    const found = await archive.find("alice");
    expect(found?.files.map((f) => f.path).sort()).toEqual(["a.ipynb", "sub/b.txt"]);
    expect(found?.sandbox).toBe("sb-1");
    expect(await archive.find("bob")).toBeUndefined();

    const next = join(dir, "next");
    mkdirSync(next);
    writeFileSync(join(next, "a.ipynb"), "tutorial copy");
    expect(await archive.restore("alice", next)).toBe(true);
    expect(readFileSync(join(next, "a.ipynb"), "utf8")).toBe("{}");
    expect(readFileSync(join(next, "sub", "b.txt"), "utf8")).toBe("bee");

    clock.now += 7 * DAY - 1;
    expect(await archive.sweep()).toBe(0);
    expect(await archive.find("alice")).toBeDefined();
    clock.now += 1;
    expect(await archive.find("alice")).toBeUndefined();
    expect(await archive.restore("alice", next)).toBe(false);
    expect(await archive.sweep()).toBe(1);
    expect(existsSync(join(dir, "archives"))).toBe(true);
    expect(await archive.find("alice")).toBeUndefined();
  });

  it("replaces an older archive only with a complete newer one", async () => {
    const { archive, work } = setUp(DAY);
    await archive.save("alice", work, "sb-1");
    await expect(archive.save("alice", join(dir, "missing"), "sb-2")).rejects.toThrow();
    expect((await archive.find("alice"))?.sandbox).toBe("sb-1");
  });

  it("keeps nothing when the retention is 0", async () => {
    const { archive, work } = setUp(0);
    expect(await archive.save("alice", work, "sb-1")).toBe(false);
    expect(await archive.find("alice")).toBeUndefined();
    expect(existsSync(join(dir, "archives"))).toBe(false);
  });

  // As root the local backend's work directories belong to per-sandbox users. On Node 24
  // (libuv 1.49+) copyFile, and so fs.cp, gives each copy its source's owner: the archive's
  // files belonged to the sandbox user, and removing that user (`find /tmp -uid <uid>
  // -delete`, sandbox-user.ts) emptied an archive kept under /tmp, leaving an empty zip.
  it.runIf(isRoot)(
    "the archive belongs to the launcher, not to the sandbox user whose work it copied",
    async () => {
      const { archive, work } = setUp(DAY);
      const setuid = join(work, "sub", "tool");
      writeFileSync(setuid, "#!/bin/sh\n");
      const nobody = 65534;
      execFileSync("chown", ["-R", `${nobody}:${nobody}`, work]);
      chmodSync(setuid, 0o4755);
      expect(await archive.save("alice", work, "sb-1")).toBe(true);

      const archived = join(dir, "archives");
      const entries = readdirSync(archived, { recursive: true }).map((p) =>
        lstatSync(join(archived, String(p))),
      );
      expect(entries.length).toBeGreaterThan(4);
      expect(entries.filter((s) => s.uid !== 0 || s.gid !== 0)).toEqual([]);
      expect(entries.filter((s) => s.mode & 0o7000)).toEqual([]);

      // What removing the sandbox user does to its files under /tmp.
      execFileSync("find", [archived, "-xdev", "-uid", String(nobody), "-delete"]);
      const found = await archive.find("alice");
      expect(found?.files.map((f) => f.path).sort()).toEqual(["a.ipynb", "sub/b.txt", "sub/tool"]);
    },
  );
});
