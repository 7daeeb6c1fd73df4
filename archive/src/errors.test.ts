import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARCHIVE_ERROR_CODES } from "./errors.js";
import { entryTarget } from "./work-zip.js";

describe("archive errors", () => {
  it("are each documented in archive/README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of ARCHIVE_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
  });
});

describe("zip entry names", () => {
  it("refuses names that leave the work folder", () => {
    for (const name of ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:/x", "a\0b", ""]) {
      expect(() => entryTarget("/work", name), JSON.stringify(name)).toThrow(/refused zip entry/);
    }
  });

  it("control: accepts names inside it", () => {
    expect(entryTarget("/work", "a/b.ipynb")).toBe("/work/a/b.ipynb");
    expect(entryTarget("/work", "dir/")).toBe("/work/dir");
  });
});
