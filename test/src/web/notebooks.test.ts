import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createLocalBackend, defaultVenvDir, type LocalBackend, parseConfig } from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Every tutorial notebook in web/notebooks (collections and dataframes included) runs top to bottom in a real local sandbox
// (real scheduler, 3 workers, tslab kernel), with each exercise cell replaced by its solution from web/notebooks/solutions,
// so neither the tutorial nor its solutions can drift from the client API. Each demo that times a sequential run against
// the cluster (a plot.timings chart) is reported — printed and written to test-results/notebook-speedups.json — never
// asserted by time: the CI machine is shared.
const run = promisify(execFile);
const runner = fileURLToPath(new URL("./run-notebook.py", import.meta.url));
const notebooksDir = fileURLToPath(new URL("../../../web/notebooks/", import.meta.url));
const reportFile = fileURLToPath(
  new URL("../../../test-results/notebook-speedups.json", import.meta.url),
);

interface Cell {
  cell_type: string;
  source: string[] | string;
  metadata: { tags?: string[]; launchbay?: { solution?: string } };
}
interface Chart {
  title?: string;
  usermeta?: { launchbay?: { kind: string; ms: Record<string, number> } };
}
interface Timing {
  notebook: string;
  demo: string;
  ms: Record<string, number>;
  speedUp: number;
}
const timingsReport: Timing[] = [];

/** Notebooks whose demos time one process against the cluster (a plot.timings chart each). */
const TIMED: Record<string, number> = {
  "01-map.ipynb": 2,
  "02-submit.ipynb": 1,
  "03-parameter-search.ipynb": 1,
  "04-collections.ipynb": 1,
};
let backend: LocalBackend;
let dir: string;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lb-notebooks-"));
  // Work archived when the sandbox ends stays inside this test's folder.
  const config = parseConfig({
    local: { sandboxesDir: dir, archivesDir: join(dir, "archives") },
  });
  backend = createLocalBackend(config, pino({ level: "silent" }));
  await backend.start();
  await backend.create({ id: "sb-notebooks", owner: "tester", expiresAt: Date.now() + 3_600_000 });
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      const s = backend.get("sb-notebooks");
      if (s?.phase === "Ready") return resolve();
      if (s?.phase === "Failed") return reject(new Error(s.message));
    };
    backend.watch("sb-notebooks", check);
    check();
  });
  const nbEnv = backend.notebookEnvironment("sb-notebooks")!;
  workDir = nbEnv.workDir;
  env = nbEnv.env;
});

afterAll(async () => {
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
  if (timingsReport.length > 0) {
    mkdirSync(dirname(reportFile), { recursive: true });
    writeFileSync(reportFile, `${JSON.stringify(timingsReport, null, 2)}\n`);
    const lines = timingsReport.map(
      (t) =>
        `${t.notebook.padEnd(26)} ${t.demo.padEnd(44)} ${Object.entries(t.ms)
          .map(([k, v]) => `${k} ${Math.round(v)} ms`)
          .join(", ")
          .padEnd(
            34,
          )} ${t.speedUp.toFixed(2)}× ${t.speedUp > 1 ? "parallel wins" : "PARALLEL DID NOT WIN"}`,
    );
    console.log(
      `notebook demos, one process vs the sandbox's 3 workers (this machine):\n${lines.join("\n")}`,
    );
  }
});

const cellsOf = (name: string): Cell[] =>
  (JSON.parse(readFileSync(join(notebooksDir, name), "utf8")) as { cells: Cell[] }).cells;
const text = (cell: Cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);

describe("tutorial notebooks", () => {
  const notebooks = readdirSync(notebooksDir).filter((n) => n.endsWith(".ipynb"));

  it("ship exercises unsolved, each with a solution file in solutions/", () => {
    let exercises = 0;
    for (const name of notebooks) {
      for (const cell of cellsOf(name).filter((c) => c.metadata.launchbay?.solution)) {
        exercises += 1;
        expect(cell.metadata.tags).toContain("exercise");
        // Only comments: running the notebook as shipped does not solve it.
        expect(
          text(cell)
            .split("\n")
            .every((l) => l.trim() === "" || l.trim().startsWith("//")),
        ).toBe(true);
        const solution = join(notebooksDir, cell.metadata.launchbay!.solution!);
        expect(existsSync(solution), solution).toBe(true);
      }
    }
    expect(exercises).toBe(notebooks.length);
  });

  it("ships at least the map, submit and parameter-search notebooks", () => {
    expect(notebooks).toEqual(
      expect.arrayContaining(["01-map.ipynb", "02-submit.ipynb", "03-parameter-search.ipynb"]),
    );
  });

  for (const name of notebooks) {
    it(`runs ${name} top to bottom on the sandbox's cluster`, async () => {
      const { stdout } = await run(
        join(defaultVenvDir(), "bin", "python"),
        [runner, workDir, "--solutions", join(workDir, name)],
        {
          env: { ...process.env, ...env },
          timeout: 280_000,
        },
      );
      const result = JSON.parse(stdout.trim().split("\n").pop()!);
      expect(result.error, result.error ?? "").toBeNull();
      expect(result.solved).toHaveLength(1);
      const out = result.outputs.join("\n");
      // Client.shared() showed the sandbox's dashboard link (a link in the notebook, this text beside it).
      expect(out).toContain("launchbay dashboard: /s/sb-notebooks/dashboard/");
      if (name === "01-map.ipynb") {
        expect(out).toContain("[ 78498, 148933, 216816, 283146 ] the same as sequentially: true");
      }
      if (name === "02-submit.ipynb") {
        expect(out).toMatch(/^5$/m);
        expect(out).toContain("sum of squares: 204");
      }
      if (name === "03-parameter-search.ipynb") {
        expect(out).toContain("best:");
        expect(out).toContain("best of the finer grid:");
      }
      if (name === "04-collections.ipynb") {
        expect(out).toContain("the same totals: true");
        expect(out).toMatch(/average/);
      }
      if (name === "05-dataframes.ipynb") expect(out).toContain("most cancellations:");
      // Results are charts too: JupyterLab draws these Vega-Lite outputs.
      expect(result.charts.length).toBeGreaterThan(0);
      const timings = (result.charts as Chart[]).filter(
        (c) => c.usermeta?.launchbay?.kind === "timings",
      );
      expect(timings).toHaveLength(TIMED[name] ?? 0);
      for (const chart of timings) {
        const ms = chart.usermeta!.launchbay!.ms;
        const [first, ...rest] = Object.values(ms);
        expect(rest.length).toBeGreaterThan(0);
        timingsReport.push({
          notebook: name,
          demo: chart.title ?? "",
          ms,
          speedUp: first! / Math.max(1, Math.min(...rest)),
        });
      }
    }, 300_000);
  }
});
