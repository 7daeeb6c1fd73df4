import { describe, expect, it } from "vitest";
import { availableMemory, formatBytes, parseMemoryLimit } from "./byte-sizes.js";

const GiB = 2 ** 30;

describe("parseMemoryLimit", () => {
  it.each([
    ["2GiB", 2 * GiB],
    ["1.5GB", 1.5e9],
    ["500MiB", 500 * 2 ** 20],
    ["500mib", 500 * 2 ** 20],
    ["1048576", 1048576],
    ["64 KiB", 65536],
    ["3k", 3000],
    ["1TiB", 2 ** 40],
  ])("reads %s as %d bytes", (text, bytes) => {
    expect(parseMemoryLimit(text, 8 * GiB)).toEqual({ ok: true, bytes });
  });

  it("reads a percentage of the memory it is given", () => {
    expect(parseMemoryLimit("80%", 10 * GiB)).toEqual({ ok: true, bytes: Math.floor(8 * GiB) });
    expect(parseMemoryLimit("12.5%", 8 * GiB)).toEqual({ ok: true, bytes: GiB });
  });

  it.each([
    ["2 gigs", "not a unit"],
    ["", "not a size"],
    ["-1GiB", "not a size"],
    ["0", "not a usable memory limit"],
    ["150%", "between 0 and 100"],
    ["0%", "between 0 and 100"],
    ["GiB", "not a size"],
  ])("rejects %j saying it is %s", (text, why) => {
    const result = parseMemoryLimit(text, GiB);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.error).toContain(why);
  });
});

describe("availableMemory", () => {
  it("prefers a container limit below the machine's memory", () => {
    expect(availableMemory(16 * GiB, 2 * GiB)).toBe(2 * GiB);
  });
  it("ignores an absent or huge container limit", () => {
    expect(availableMemory(16 * GiB, undefined)).toBe(16 * GiB);
    expect(availableMemory(16 * GiB, 0)).toBe(16 * GiB);
    expect(availableMemory(16 * GiB, 2 ** 63)).toBe(16 * GiB);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KiB"],
    [120 * 2 ** 20, "120 MiB"],
    [GiB, "1 GiB"],
    [900 * 2 ** 20, "900 MiB"],
  ])("prints %d as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
