/**
 * Writes the generated CRDs into charts/launchbay/crds/ (or the directory given as the
 * first argument). Run through `npm run crds`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCrdFiles } from "./render.js";
import { withGeneratedDefinitions } from "./values-schema.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const outDir = resolve(process.argv[2] ?? join(repoRoot, "charts/launchbay/crds"));
mkdirSync(outDir, { recursive: true });
for (const [name, text] of renderCrdFiles()) {
  writeFileSync(join(outDir, name), text);
  process.stdout.write(`wrote ${join(outDir, name)}\n`);
}

// The chart's values schema: its generated definitions (sandbox template, placement, peers).
if (!process.argv[2]) {
  const valuesSchema = join(repoRoot, "charts/launchbay/values.schema.json");
  writeFileSync(valuesSchema, withGeneratedDefinitions(readFileSync(valuesSchema, "utf8")));
  process.stdout.write(`wrote ${valuesSchema}\n`);
}
