import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { detectCgroups, parseByteSize, SandboxCgroup } from "./cgroup.js";

let root: string;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const limits = { memoryBytes: 512 * 1024 ** 2, cpus: 1.5, pids: 256 };

describe("sandbox cgroups", () => {
  it("parses sizes", () => {
    expect(parseByteSize("512MiB")).toBe(512 * 1024 ** 2);
    expect(parseByteSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseByteSize("1.5GB")).toBe(1.5e9);
    expect(parseByteSize("4096")).toBe(4096);
    expect(() => parseByteSize("lots")).toThrow(/not a size/);
  });

  it("detects v1 and v2 hierarchies, and neither", () => {
    root = mkdtempSync(join(tmpdir(), "lb-cg-"));
    expect(detectCgroups(root)).toBeUndefined();
    for (const c of ["memory", "cpu", "pids"]) {
      mkdirSync(join(root, c));
      writeFileSync(join(root, c, "cgroup.procs"), "");
    }
    expect(detectCgroups(root)).toBe(1);
    writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids");
    expect(detectCgroups(root)).toBe(2);
  });

  it("writes v1 memory, cpu and pids limits under launchbay/<sandbox>", async () => {
    root = mkdtempSync(join(tmpdir(), "lb-cg-"));
    const cg = new SandboxCgroup(1, "sb-x", root);
    await cg.create(limits);
    const read = (p: string) => readFileSync(join(root, p), "utf8");
    expect(read("memory/launchbay/sb-x/memory.limit_in_bytes")).toBe(String(512 * 1024 ** 2));
    expect(read("cpu/launchbay/sb-x/cpu.cfs_quota_us")).toBe("150000");
    expect(read("cpu/launchbay/sb-x/cpu.cfs_period_us")).toBe("100000");
    expect(read("pids/launchbay/sb-x/pids.max")).toBe("256");
    expect(cg.procsFiles).toEqual(
      ["memory", "cpu", "pids"].map((c) => join(root, c, "launchbay", "sb-x", "cgroup.procs")),
    );
  });

  it("enables controllers and writes v2 limits", async () => {
    root = mkdtempSync(join(tmpdir(), "lb-cg-"));
    writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory pids");
    mkdirSync(join(root, "launchbay"));
    writeFileSync(join(root, "launchbay", "cgroup.controllers"), "cpu memory pids");
    const cg = new SandboxCgroup(2, "sb-y", root);
    await cg.create(limits);
    const read = (p: string) => readFileSync(join(root, p), "utf8");
    expect(read("cgroup.subtree_control")).toBe("+memory +cpu +pids");
    expect(read("launchbay/cgroup.subtree_control")).toBe("+memory +cpu +pids");
    expect(read("launchbay/sb-y/memory.max")).toBe(String(512 * 1024 ** 2));
    expect(read("launchbay/sb-y/cpu.max")).toBe("150000 100000");
    expect(read("launchbay/sb-y/pids.max")).toBe("256");
    expect(cg.procsFiles).toEqual([join(root, "launchbay", "sb-y", "cgroup.procs")]);
  });

  it("refuses a v2 hierarchy without the memory controller", async () => {
    root = mkdtempSync(join(tmpdir(), "lb-cg-"));
    writeFileSync(join(root, "cgroup.controllers"), "cpu pids");
    await expect(new SandboxCgroup(2, "sb-z", root).create(limits)).rejects.toThrow(
      /memory controller/,
    );
  });
});
