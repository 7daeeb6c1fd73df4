/**
 * Measures what each image adds on top of its base: the production node_modules that
 * `npm ci --omit=dev --workspace=<pkg>` installs (run in a scratch copy of the manifests
 * and lockfile) plus the built dist/ of the workspaces it ships. No Docker needed.
 *
 *   npx tsc -b test && node test/dist/helm/image-footprint.js
 *
 * Prints a Markdown table (for charts/launchbay/README.md). Uses the npm registry (or the
 * npm cache). If the lockfile is out of sync with the manifests, `npm ci` refuses; the
 * script then measures with `npm install --omit=dev` and says so.
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { repoRoot, run } from "./chart-tools.js";
import { IMAGES, readDockerfile } from "./dockerfiles.js";

async function duBytes(path: string): Promise<number> {
  try {
    await stat(path);
  } catch {
    return 0;
  }
  const result = await run("du", ["-sb", path]);
  if (result.code !== 0) throw new Error(`du ${path}: ${result.stderr}`);
  return Number.parseInt(result.stdout.split("\t")[0] ?? "0", 10);
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "launchbay-footprint-"));
  const root = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  await cp(join(repoRoot, "package.json"), join(dir, "package.json"));
  await cp(join(repoRoot, "package-lock.json"), join(dir, "package-lock.json"));
  for (const ws of root.workspaces) {
    await mkdir(join(dir, ws), { recursive: true });
    await cp(join(repoRoot, ws, "package.json"), join(dir, ws, "package.json"));
  }
  return dir;
}

export interface Footprint {
  image: string;
  method: "npm ci" | "npm install";
  nodeModulesBytes: number;
  distBytes: number;
  packages: number;
}

export async function measure(image: (typeof IMAGES)[number]): Promise<Footprint> {
  const dir = await scratchCopy();
  try {
    const common = [
      "--omit=dev",
      `--workspace=${image.workspace}`,
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
    ];
    let method: Footprint["method"] = "npm ci";
    let result = await run("npm", ["ci", ...common], { cwd: dir, timeoutMs: 600_000 });
    if (result.code !== 0 && result.stderr.includes("in sync")) {
      method = "npm install";
      result = await run("npm", ["install", ...common], { cwd: dir, timeoutMs: 600_000 });
    }
    if (result.code !== 0)
      throw new Error(`${method} for ${image.image} failed:\n${result.stderr}`);
    const instructions = await readDockerfile(image.dockerfile);
    const assemble = instructions.find((i) => i.keyword === "RUN" && i.args.includes("/out/app"));
    const workspaces =
      /for ws in ([a-z ]+);/
        .exec(assemble?.args ?? "")?.[1]
        ?.trim()
        .split(/\s+/) ?? [];
    let nodeModulesBytes = await duBytes(join(dir, "node_modules"));
    let distBytes = 0;
    for (const ws of workspaces) {
      nodeModulesBytes += await duBytes(join(dir, ws, "node_modules"));
      distBytes += await duBytes(join(repoRoot, ws, "dist"));
    }
    const ls = await run(
      "npm",
      ["ls", "--all", "--omit=dev", "--parseable", `--workspace=${image.workspace}`],
      {
        cwd: dir,
      },
    );
    const packages = new Set(ls.stdout.split("\n").filter((l) => l.includes("node_modules"))).size;
    return { image: image.image, method, nodeModulesBytes, distBytes, packages };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Footprint[] = [];
  for (const image of IMAGES) rows.push(await measure(image));
  const lines = [
    "| image | production node_modules | packages | built dist/ | measured with |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.image} | ${mib(r.nodeModulesBytes)} | ${r.packages} | ${mib(r.distBytes)} | ${r.method} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (rows.some((r) => r.method === "npm install")) {
    process.stderr.write(
      "note: package-lock.json is out of sync with the manifests, so `npm ci` (and the image builds) would fail; run `npm install` and commit the lockfile\n",
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `image-footprint: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
