/**
 * progress() in a real tslab kernel (the set-up venv's JupyterLab kernel, through
 * nbclient): one output area, created once and updated in place until 100%, while a
 * LocalCluster (built scheduler and worker CLIs) runs the tasks.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { defaultVenvDir } from "@launchbay/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tslabNotebook } from "../tslab-notebook.js";

const run = promisify(execFile);
const runner = fileURLToPath(new URL("./progress-notebook.py", import.meta.url));
const repo = fileURLToPath(new URL("../../../", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-progress-nb-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(repo, "client"), join(dir, "node_modules", "launchbay"));
  symlinkSync(join(repo, "node_modules", "@types"), join(dir, "node_modules", "@types"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const CELLS = [
  'import { LocalCluster, progress } from "launchbay";\nconst cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });\nconst client = await cluster.client();',
  "const fs = client.map((i: number) => new Promise<number>((r, j) => setTimeout(() => (i === 5 ? j(new Error('x')) : r(i)), 100 + i * 20)), Array.from({ length: 12 }, (_, i) => i));\nconst summary = await progress(fs, { intervalMs: 0, label: 'fits' });\nconsole.log(JSON.stringify(summary));",
  "await cluster.close();",
];

interface Output {
  output_type: string;
  data?: Record<string, string>;
  text?: string;
}

describe("progress in a tslab notebook", () => {
  it("shows one output area updated in place until every task is done", async () => {
    const notebook = tslabNotebook(CELLS);
    const path = join(dir, "progress.ipynb");
    writeFileSync(path, JSON.stringify(notebook));
    const { stdout } = await run(join(defaultVenvDir(), "bin", "python"), [runner, path, dir], {
      timeout: 180_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
      error: string | null;
      types: string[];
      outputs: Output[][];
    };
    expect(result.error, result.error ?? "").toBeNull();
    const cell = result.outputs[1]!;
    const displays = cell.filter((o) => o.output_type === "display_data");
    expect(displays).toHaveLength(1);
    const html = displays[0]!.data!["text/html"]!;
    expect(html).toContain("fits");
    expect(html).toContain("100% · 12/12 tasks");
    expect(html).toContain("1 erred");
    expect(result.types.filter((t) => t === "update_display_data").length).toBeGreaterThan(0);
    const printed = cell.find((o) => o.output_type === "stream")?.text ?? "";
    expect(JSON.parse(printed)).toMatchObject({ total: 12, finished: 11, erred: 1 });
  });
});
