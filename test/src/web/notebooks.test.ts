import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createLocalBackend, defaultVenvDir, type LocalBackend, parseConfig } from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Every tutorial notebook in web/notebooks (collections and dataframes included) runs top to bottom in a real local sandbox
// (real scheduler, 3 workers, tslab kernel), so the tutorial cannot drift from the client API.
const run = promisify(execFile);
const runner = fileURLToPath(new URL("./run-notebook.py", import.meta.url));
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
});

describe("tutorial notebooks", () => {
  const notebooks = readdirSync(
    fileURLToPath(new URL("../../../web/notebooks/", import.meta.url)),
  ).filter((n) => n.endsWith(".ipynb"));

  it("ships at least the map, submit and parameter-search notebooks", () => {
    expect(notebooks).toEqual(
      expect.arrayContaining(["01-map.ipynb", "02-submit.ipynb", "03-parameter-search.ipynb"]),
    );
  });

  for (const name of notebooks) {
    it(`runs ${name} top to bottom on the sandbox's cluster`, async () => {
      const { stdout } = await run(
        join(defaultVenvDir(), "bin", "python"),
        [runner, workDir, join(workDir, name)],
        {
          env: { ...process.env, ...env },
          timeout: 240_000,
        },
      );
      const result = JSON.parse(stdout.trim().split("\n").pop()!);
      expect(result.error, result.error ?? "").toBeNull();
      const text = result.outputs.join("\n");
      if (name === "01-map.ipynb") expect(text).toContain("[ 2262, 4203, 6057, 7837 ]");
      if (name === "02-submit.ipynb") expect(text).toMatch(/^5$/m);
      if (name === "03-parameter-search.ipynb") expect(text).toContain("best:");
    });
  }
});
