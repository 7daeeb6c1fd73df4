import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildZip } from "./zip.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("zip archives", () => {
  it("are readable by Python's zipfile with names and contents intact", () => {
    dir = mkdtempSync(join(tmpdir(), "lb-zip-"));
    const big = Buffer.from("x".repeat(10_000));
    const zip = buildZip([
      { name: "01-submit.ipynb", data: Buffer.from('{"cells":[]}') },
      { name: "data/naïve.txt", data: big },
      { name: "empty.txt", data: Buffer.alloc(0) },
    ]);
    const path = join(dir, "a.zip");
    writeFileSync(path, zip);
    const script =
      "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n:len(z.read(n)) for n in z.namelist()}))";
    const out = execFileSync("python3", ["-c", script, path]).toString();
    expect(JSON.parse(out)).toEqual({
      "01-submit.ipynb": 12,
      "data/naïve.txt": 10_000,
      "empty.txt": 0,
    });
    expect(readFileSync(path).length).toBeLessThan(1000);
  });

  it("refuses paths that would escape the archive", () => {
    expect(() => buildZip([{ name: "../etc/passwd", data: Buffer.alloc(1) }])).toThrow(
      "unsafe path",
    );
    expect(() => buildZip([{ name: "/abs", data: Buffer.alloc(1) }])).toThrow("unsafe path");
  });
});
