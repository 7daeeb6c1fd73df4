import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { LauncherError } from "../../errors.js";
import type { CommandSpec } from "./service-process.js";

/** How the local backend starts a sandbox's processes (tests may substitute their own). */
export interface RuntimeCommands {
  /** `port`: when restarting, the port it had (so workers and clients find it again). */
  scheduler(options: { token: string; port?: number }): CommandSpec;
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
  /**
   * Directories the commands read from (the venv, Python, kernels, this repository).
   * When the launcher runs as root and one of them sits in a directory other users cannot
   * enter (e.g. `/root/.cache/launchbay`), it is mounted, read-only and alone, into each
   * sandbox's view of the file system.
   */
  sharedPaths?: string[];
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

/**
 * Where attendees' work is kept after their sandbox ends (one folder per attendee):
 * `archives` beside the sandboxes directory (`~/.cache/launchbay/archives` by default).
 */
export function defaultArchivesDir(sandboxesDir = defaultSandboxesDir()): string {
  return join(dirname(sandboxesDir.replace(/[/\\]+$/, "")), "archives");
}

/** A PATH for sandbox processes: the venv, Node, the system; nothing of the launcher's. */
export function sandboxPath(venvBin?: string): string {
  return [
    ...(venvBin ? [venvBin] : []),
    dirname(process.execPath),
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
  ].join(":");
}

/**
 * What JupyterLab and its kernels read outside the venv: the Python installation the venv
 * was made from (`home` in pyvenv.cfg) and each kernel's own install (tslab's
 * `.../tslab-x/node_modules/.bin/tslab` → `.../tslab-x`).
 */
function venvSharedPaths(venvDir: string): string[] {
  const paths = [venvDir];
  try {
    const cfg = readFileSync(join(venvDir, "pyvenv.cfg"), "utf8");
    const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
    if (home) paths.push(dirname(realpathSync(home)));
  } catch {
    // Not a venv (a plain prefix): its own directory is all there is.
  }
  const kernels = join(venvDir, "share", "jupyter", "kernels");
  for (const name of existsSync(kernels) ? readdirSync(kernels) : []) {
    try {
      const spec = JSON.parse(readFileSync(join(kernels, name, "kernel.json"), "utf8")) as {
        argv?: string[];
      };
      const program = spec.argv?.[0];
      if (!program || !isAbsolute(program) || program.startsWith(venvDir)) continue;
      const cut = program.indexOf(`${sep}node_modules${sep}`);
      paths.push(realpathSync(cut > 0 ? program.slice(0, cut) : dirname(program)));
    } catch {
      // A kernel without a readable spec cannot be started anyway.
    }
  }
  return paths;
}

/** The real runtime: the scheduler and worker CLIs and JupyterLab from the set-up venv. */
export function defaultRuntimeCommands(configuredVenvDir: string): RuntimeCommands {
  const scheduler = binOf("@launchbay/scheduler", "launchbay-scheduler");
  const worker = binOf("@launchbay/worker", "launchbay-worker");
  if (!existsSync(join(configuredVenvDir, "bin", "jupyter-lab"))) {
    throw new LauncherError(
      "invalid-config",
      `JupyterLab is not installed at ${join(configuredVenvDir, "bin", "jupyter-lab")}: run \`bash scripts/setup.sh jupyter\``,
    );
  }
  // The real path, so a sandbox's view of the file system needs no symlink (`venv` →
  // `venv-<hash>`) outside the directories it is shown.
  const venvDir = realpathSync(configuredVenvDir);
  const jupyterLab = join(venvDir, "bin", "jupyter-lab");
  // The tslab kernelspec (scripts/setup.sh jupyter) names its binary by absolute path.
  const path = sandboxPath(join(venvDir, "bin"));
  return {
    sharedPaths: [
      ...venvSharedPaths(venvDir),
      dirname(process.execPath),
      // This repository: the scheduler and worker CLIs, the client and their node_modules.
      dirname(WEB_DIR.replace(/[/\\]$/, "")),
      dirname(scheduler),
      dirname(worker),
    ],
    scheduler: ({ token, port }) => ({
      command: process.execPath,
      args: [scheduler, "--host", "127.0.0.1", "--port", String(port ?? 0)],
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
