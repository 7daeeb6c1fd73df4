import type { FastifyBaseLogger } from "fastify";
import type { LauncherConfig } from "../../config.js";
import { LocalBackend } from "./local-backend.js";
import {
  clientEntry,
  defaultNotebooksDir,
  defaultRuntimeCommands,
  defaultSandboxesDir,
  defaultVenvDir,
  findPackageDir,
  type RuntimeCommands,
} from "./runtime-commands.js";

/** The local backend as configured, with the real runtime unless `commands` is given. */
export function createLocalBackend(
  config: LauncherConfig,
  log: FastifyBaseLogger,
  commands?: RuntimeCommands,
): LocalBackend {
  return new LocalBackend({
    sandboxesDir: config.local.sandboxesDir ?? defaultSandboxesDir(),
    notebooksDir: config.local.notebooksDir ?? defaultNotebooksDir(),
    clientEntry: clientEntry(),
    typesNodeDir: findPackageDir("@types/node"),
    commands: commands ?? defaultRuntimeCommands(config.local.venvDir ?? defaultVenvDir()),
    sandboxDomain: config.sandboxDomain,
    workers: config.workshop.workers,
    workerThreads: config.local.workerThreads,
    workerMemoryLimit: config.local.workerMemoryLimit,
    startTimeoutMs: config.local.startTimeoutSeconds * 1000,
    log,
  });
}
