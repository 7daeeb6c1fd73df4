import { chmod, cp, lchown, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface SandboxDirLayout {
  /** `<sandboxes>/<id>`: everything of this sandbox lives below. */
  root: string;
  /** `<root>/work`: Jupyter's root directory with the tutorial notebooks (what Download zips). */
  work: string;
  /** `<root>/.jupyter`: Jupyter's config, runtime and workspace files. */
  jupyter: string;
  /** `<root>/tmp`: the sandbox's TMPDIR (private, unlike the machine's /tmp). */
  tmp: string;
}

export function layoutFor(sandboxesDir: string, id: string): SandboxDirLayout {
  const root = join(sandboxesDir, id);
  return {
    root,
    work: join(root, "work"),
    jupyter: join(root, ".jupyter"),
    tmp: join(root, "tmp"),
  };
}

/**
 * Creates a sandbox's directory: the tutorial notebooks, and `node_modules/launchbay`
 * so `import { Client } from "launchbay"` works in the tslab kernel. The package there is
 * a re-export with top-level `main`/`types`, because tslab type-checks with TypeScript's
 * node10 resolution, which ignores the client's `exports` map. `node_modules/@types/node`
 * links to Node's types, which tslab looks for beside the notebooks (without them a cell
 * cannot even use `console`).
 */
export async function prepareSandboxDir(
  layout: SandboxDirLayout,
  notebooksDir: string,
  clientEntry: { js: string; dts: string },
  typesNodeDir: string | undefined,
): Promise<void> {
  await mkdir(layout.work, { recursive: true });
  await mkdir(layout.tmp, { recursive: true });
  // No "get notified about Jupyter news?" prompt: the sandbox has no business with it.
  await mkdir(join(layout.jupyter, "config", "labconfig"), { recursive: true });
  await writeFile(
    join(layout.jupyter, "config", "labconfig", "page_config.json"),
    `${JSON.stringify({ disabledExtensions: { "@jupyterlab/apputils-extension:announcements": true } })}\n`,
  );
  for (const name of await readdir(notebooksDir)) {
    // The notebooks and their exercises' solutions folder.
    if (name.endsWith(".ipynb") || name === "solutions") {
      await cp(join(notebooksDir, name), join(layout.work, name), { recursive: true });
    }
  }
  if (typesNodeDir) {
    await mkdir(join(layout.root, "node_modules", "@types"), { recursive: true });
    await symlink(typesNodeDir, join(layout.root, "node_modules", "@types", "node"), "dir");
  }
  const pkg = join(layout.root, "node_modules", "launchbay");
  await mkdir(pkg, { recursive: true });
  await writeFile(
    join(pkg, "package.json"),
    `${JSON.stringify({ name: "launchbay", private: true, type: "module", main: "./index.js", types: "./index.d.ts" }, null, 2)}\n`,
  );
  await writeFile(
    join(pkg, "index.js"),
    `export * from ${JSON.stringify(pathToFileURL(clientEntry.js).href)};\n`,
  );
  await writeFile(
    join(pkg, "index.d.ts"),
    `export * from ${JSON.stringify(clientEntry.dts.replace(/\.d\.ts$/, ".js"))};\n`,
  );
}

/**
 * Gives the sandbox's directory to its own user: everything below it owned by that user
 * (symlinks themselves, not what they point to), the directory itself 0700 so no other
 * sandbox can look in.
 */
export async function handOverSandboxDir(
  layout: SandboxDirLayout,
  owner: { uid: number; gid: number },
): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      await lchown(path, owner.uid, owner.gid);
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(layout.root);
  await lchown(layout.root, owner.uid, owner.gid);
  await chmod(layout.root, 0o700);
}

export async function removeSandboxDir(layout: SandboxDirLayout): Promise<void> {
  await rm(layout.root, { recursive: true, force: true });
}
