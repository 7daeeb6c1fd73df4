import { fileURLToPath } from "node:url";
import type { RuntimeCommands } from "@launchbay/web";

const standIn = fileURLToPath(new URL("./fixtures/stand-in-runtime.mjs", import.meta.url));

/**
 * Sandbox commands with a stand-in scheduler and workers (fixtures/stand-in-runtime.mjs):
 * real processes, no computation. `jupyter` defaults to the stand-in notebook server (it
 * only answers the readiness probe); pass the real one to drive JupyterLab.
 */
export function standInCommands(jupyter?: RuntimeCommands["jupyter"]): RuntimeCommands {
  return {
    scheduler: ({ token }) => ({
      command: process.execPath,
      args: [standIn, "scheduler"],
      env: { LAUNCHBAY_TOKEN: token },
    }),
    worker: ({ address, token, name }) => ({
      command: process.execPath,
      args: [standIn, "worker", address, "--name", name],
      env: { LAUNCHBAY_TOKEN: token },
    }),
    jupyter:
      jupyter ??
      (({ port, token }) => ({
        command: process.execPath,
        args: [standIn, "jupyter", String(port)],
        env: { STAND_IN_NOTEBOOK_TOKEN: token },
      })),
  };
}
