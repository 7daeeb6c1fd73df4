import { existsSync, readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LauncherError } from "../../errors.js";
import type { CommandSpec } from "./service-process.js";

/** How the local backend starts a sandbox's processes (tests may substitute their own). */
export interface RuntimeCommands {
  scheduler(options: { token: string }): CommandSpec;
  worker(options: {
    address: string;
    token: string;
    name: string;
    nthreads: number;
    memoryLimit: string;
  }): CommandSpec;
  jupyter(options: {
    port: number;
    baseUrl: string;
    /** The sandbox origin's host name (`<id>.localhost`), which Jupyter's Host check must accept. */
    hostName: string;
    token: string;
    rootDir: string;
    jupyterDir: string;
  }): CommandSpec;
}

/** web/, from src/backend/local and dist/backend/local alike. */
const WEB_DIR = fileURLToPath(new URL("../../../", import.meta.url));

/** Finds `node_modules/<name>` walking up from web/, following workspace symlinks. */
export function findPackageDir(name: string, from = WEB_DIR): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return dirname(realpathSync(candidate));
    const parent = dirname(dir);
    if (parent === dir) {
      throw new LauncherError(
        "invalid-config",
        `cannot find the ${name} package: run \`npm ci\` (scripts/setup.sh runtime) first`,
      );
    }
    dir = parent;
  }
}

function binOf(packageName: string, bin: string): string {
  const dir = findPackageDir(packageName);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  const rel = pkg.bin?.[bin];
  if (!rel)
    throw new LauncherError("invalid-config", `${packageName} declares no "${bin}" command`);
  return join(dir, rel);
}

/** The `launchbay` client's built entry points (for the notebook's node_modules/launchbay). */
export function clientEntry(): { js: string; dts: string } {
  const dir = findPackageDir("launchbay");
  const js = join(dir, "dist", "index.js");
  const dts = join(dir, "dist", "index.d.ts");
  if (!existsSync(js) || !existsSync(dts)) {
    throw new LauncherError(
      "invalid-config",
      `the launchbay client is not built (${js} is missing): run \`npx tsc -b\``,
    );
  }
  return { js, dts };
}

/** Jupyter Server settings for every sandbox (trust off); also installed in the notebook image. */
export const JUPYTER_SERVER_CONFIG = join(WEB_DIR, "jupyter", "jupyter_server_config.py");

export function defaultVenvDir(): string {
  return join(process.env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay"), "venv");
}

export function defaultNotebooksDir(): string {
  return join(WEB_DIR, "notebooks");
}

export function defaultSandboxesDir(): string {
  return join(process.env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay"), "sandboxes");
}

/** The real runtime: the scheduler and worker CLIs and JupyterLab from the set-up venv. */
export function defaultRuntimeCommands(venvDir: string): RuntimeCommands {
  const scheduler = binOf("@launchbay/scheduler", "launchbay-scheduler");
  const worker = binOf("@launchbay/worker", "launchbay-worker");
  const jupyterLab = join(venvDir, "bin", "jupyter-lab");
  if (!existsSync(jupyterLab)) {
    throw new LauncherError(
      "invalid-config",
      `JupyterLab is not installed at ${jupyterLab}: run \`bash scripts/setup.sh jupyter\``,
    );
  }
  // The tslab kernelspec (scripts/setup.sh jupyter) names its binary by absolute path.
  const path = [join(venvDir, "bin"), process.env.PATH ?? ""].join(":");
  return {
    scheduler: ({ token }) => ({
      command: process.execPath,
      args: [scheduler, "--host", "127.0.0.1", "--port", "0"],
      env: { LAUNCHBAY_TOKEN: token },
    }),
    worker: ({ address, token, name, nthreads, memoryLimit }) => ({
      command: process.execPath,
      args: [
        worker,
        address,
        "--nthreads",
        String(nthreads),
        "--memory-limit",
        memoryLimit,
        "--name",
        name,
      ],
      env: { LAUNCHBAY_TOKEN: token },
    }),
    jupyter: ({ port, baseUrl, hostName, token, rootDir, jupyterDir }) => ({
      command: jupyterLab,
      args: [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        `--ServerApp.port=${port}`,
        "--ServerApp.port_retries=0",
        `--ServerApp.base_url=${baseUrl}`,
        // The browser reaches Jupyter as <id>.<sandboxDomain> through the launcher's proxy.
        `--ServerApp.local_hostnames=${hostName}`,
        // Notebook trust off: no notebook is ever signed, so none renders active output.
        `--config=${JUPYTER_SERVER_CONFIG}`,
        `--ServerApp.root_dir=${rootDir}`,
        "--MappingKernelManager.default_kernel_name=tslab",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        `--LabApp.workspaces_dir=${join(jupyterDir, "workspaces")}`,
        "--ServerApp.terminals_enabled=False",
        // Containers and CI often run as root; Jupyter refuses that unless told.
        ...(process.getuid?.() === 0 ? ["--ServerApp.allow_root=True"] : []),
      ],
      env: {
        PATH: path,
        JUPYTER_TOKEN: token,
        JUPYTER_CONFIG_DIR: join(jupyterDir, "config"),
        JUPYTER_RUNTIME_DIR: join(jupyterDir, "runtime"),
        JUPYTER_PLATFORM_DIRS: "1",
      },
    }),
  };
}
