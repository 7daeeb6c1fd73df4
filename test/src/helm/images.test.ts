import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ok, repoRoot, run } from "./chart-tools.js";
import {
  copyParts,
  execForm,
  finalStage,
  globalArgs,
  IMAGES,
  type Instruction,
  readDockerfile,
} from "./dockerfiles.js";

const exists = (path: string) =>
  access(join(repoRoot, path)).then(
    () => true,
    () => false,
  );

async function trackedFiles(path: string): Promise<string[]> {
  const out = ok(await run("git", ["ls-files", "--", path]), `git ls-files ${path}`);
  return out.split("\n").filter(Boolean);
}

/** `RUN ln -s /app/<target> /usr/local/bin/<name>` links in the final stage: name → repo path. */
function linkedClis(stage: Instruction[]): Map<string, string> {
  const links = new Map<string, string>();
  for (const i of stage) {
    if (i.keyword !== "RUN") continue;
    for (const m of i.args.matchAll(/ln -s \/app\/(\S+) \/usr\/local\/bin\/(\S+)/g)) {
      links.set(m[2] as string, m[1] as string);
    }
  }
  return links;
}

async function workspacePackages(): Promise<
  Map<string, { dir: string; bin: Record<string, string> }>
> {
  const root = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  const packages = new Map<string, { dir: string; bin: Record<string, string> }>();
  for (const dir of root.workspaces) {
    const pkg = JSON.parse(await readFile(join(repoRoot, dir, "package.json"), "utf8")) as {
      name: string;
      bin?: Record<string, string>;
    };
    packages.set(pkg.name, { dir, bin: pkg.bin ?? {} });
  }
  return packages;
}

describe.each(IMAGES)("the $image image ($dockerfile)", ({ image, dockerfile, workspace }) => {
  it("builds in stages from a pinned Node 24 Debian slim base", async () => {
    const instructions = await readDockerfile(dockerfile);
    const args = globalArgs(instructions);
    expect(args.NODE_IMAGE).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
    const froms = instructions.filter((i) => i.keyword === "FROM").map((i) => i.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const arg = (name: string) => ["$", "{", name, "}"].join("");
    expect(froms[0]).toBe(`${arg("NODE_IMAGE")} AS build`);
    const base = froms[froms.length - 1];
    expect(base).toBe(arg(image === "notebook" ? "WORKER_IMAGE" : "NODE_IMAGE"));
    if (image === "notebook") expect(args.WORKER_IMAGE).toMatch(/\/worker:\d+\.\d+\.\d+$/);
  });

  it("runs as a non-root numeric user", async () => {
    const stage = finalStage(await readDockerfile(dockerfile));
    const users = stage.filter((i) => i.keyword === "USER").map((i) => i.args);
    expect(users.at(-1)).toBe("1000:1000");
  });

  it("installs only its workspace's production dependencies and ships no sources", async () => {
    const instructions = await readDockerfile(dockerfile);
    const packages = await workspacePackages();
    const install = instructions.find(
      (i) => i.keyword === "RUN" && i.args.includes("npm ci --omit=dev"),
    );
    expect(install?.args).toContain(`--workspace=${workspace}`);
    expect(packages.has(workspace), `${workspace} is a workspace package`).toBe(true);
    const stage = finalStage(instructions);
    for (const copy of stage.filter((i) => i.keyword === "COPY")) {
      const { flags, sources } = copyParts(copy.args);
      if (flags.some((f) => f.startsWith("--from="))) {
        expect(sources).toEqual(["/out/app/"]);
      } else {
        // Only the notebook image adds files from the context: the tutorial notebooks and
        // the Jupyter server config that strips notebook trust in sandboxes, and the
        // JupyterLab settings it points at (autosave every 30 s) and the save bridge's
        // JupyterLab extension.
        expect(image).toBe("notebook");
        expect([
          ["web/notebooks/"],
          ["web/jupyter/jupyter_server_config.py"],
          ["web/jupyter/lab-settings"],
          ["web/jupyter/labextensions"],
        ]).toContainEqual(sources);
      }
    }
    // The runtime tree holds each listed workspace's manifest, bin/, dist/, static/ only.
    const assemble = instructions.find((i) => i.keyword === "RUN" && i.args.includes("/out/app"));
    const listed =
      /for ws in ([a-z ]+);/
        .exec(assemble?.args ?? "")?.[1]
        ?.trim()
        .split(/\s+/) ?? [];
    expect(listed.length).toBeGreaterThan(0);
    const dirs = new Set([...packages.values()].map((p) => p.dir));
    for (const ws of listed) expect(dirs.has(ws), `${ws} is a workspace folder`).toBe(true);
  });

  it("copies only sources that are in the repository", async () => {
    const instructions = await readDockerfile(dockerfile);
    const contextCopies = instructions.filter(
      (i) => i.keyword === "COPY" && !copyParts(i.args).flags.some((f) => f.startsWith("--from=")),
    );
    expect(contextCopies.length).toBeGreaterThan(0);
    for (const copy of contextCopies) {
      for (const source of copyParts(copy.args).sources) {
        const files = await trackedFiles(source);
        expect(files.length, `COPY ${source}: no file of it is committed`).toBeGreaterThan(0);
      }
    }
  });

  it("starts the CLI the tests run as a process", async () => {
    const stage = finalStage(await readDockerfile(dockerfile));
    const entrypoint = execForm(stage.find((i) => i.keyword === "ENTRYPOINT")?.args ?? "null");
    const packages = await workspacePackages();
    if (image === "web") {
      expect(entrypoint).toEqual(["node", "/app/web/dist/main.js"]);
      expect(await exists("web/dist/main.js"), "web/dist/main.js is built (npx tsc -b web)").toBe(
        true,
      );
      return;
    }
    if (image === "notebook") {
      expect(entrypoint).toEqual(["jupyter", "lab"]);
      return;
    }
    const [cli] = entrypoint;
    const target = linkedClis(stage).get(cli as string);
    expect(target, `${cli} is linked into /usr/local/bin`).toBeDefined();
    const pkg = packages.get(workspace);
    expect(pkg?.bin[cli as string], `${workspace} declares the bin ${cli}`).toBe(
      (target as string).slice((pkg?.dir.length ?? 0) + 1),
    );
    expect(await exists(target as string), `${target} exists`).toBe(true);
    // The bin script imports the built CLI; it must exist in the built repo.
    const script = await readFile(join(repoRoot, target as string), "utf8");
    const imported = /import\s+"(\.\.\/dist\/[^"]+)"/.exec(script)?.[1];
    expect(imported, `${target} imports ../dist/...`).toBeDefined();
    const built = join(pkg?.dir ?? "", "bin", imported as string);
    expect(await exists(built), `${built} is built (npx tsc -b ${pkg?.dir})`).toBe(true);
  });
});

describe("the notebook image", () => {
  it("pins JupyterLab as scripts/requirements.txt and tslab as scripts/setup.sh do", async () => {
    const text = await readFile(join(repoRoot, "worker/notebook.Dockerfile"), "utf8");
    const requirements = await readFile(join(repoRoot, "scripts/requirements.txt"), "utf8");
    const setup = await readFile(join(repoRoot, "scripts/setup.sh"), "utf8");
    const jupyterlab = /^jupyterlab==(\S+)$/m.exec(requirements)?.[1];
    expect(jupyterlab).toBeDefined();
    expect(text).toContain(`jupyterlab==${jupyterlab}`);
    const tslab = /tslab_version=(\S+)/.exec(setup)?.[1];
    expect(tslab).toBeDefined();
    expect(text).toContain(`tslab@${tslab}`);
    expect(text).toContain("tslab install --python=/opt/venv/bin/python3");
  });
});

describe("the image build context and workflow", () => {
  it("keeps build outputs and dependencies out of the context", async () => {
    const ignore = (await readFile(join(repoRoot, ".dockerignore"), "utf8")).split("\n");
    for (const pattern of ["**/node_modules", "**/dist", ".git"]) expect(ignore).toContain(pattern);
  });

  it("builds and pushes every image on a version tag", async () => {
    const workflow = await readFile(join(repoRoot, ".github/workflows/images.yml"), "utf8");
    expect(workflow).toMatch(/on:\s+push:\s+tags: \["v\*\.\*\.\*"\]/);
    for (const { dockerfile } of IMAGES) expect(workflow).toContain(dockerfile);
    expect(workflow).toContain("WORKER_IMAGE=");
  });
});
