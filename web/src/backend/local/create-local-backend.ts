import type { FastifyBaseLogger } from "fastify";
import type { LauncherConfig } from "../../config.js";
import { parseByteSize } from "./cgroup.js";
import { decideIsolation } from "./isolation.js";
import { LocalBackend, type LocalBackendOptions } from "./local-backend.js";
import { WorkArchive } from "./work-archive.js";
import {
  clientEntry,
  defaultNotebooksDir,
  defaultRuntimeCommands,
  defaultArchivesDir,
  defaultSandboxesDir,
  defaultVenvDir,
  findPackageDir,
  type RuntimeCommands,
} from "./runtime-commands.js";

/**
 * The local backend as configured, with the real runtime unless `commands` is given. As
 * root every sandbox gets its own Unix user and cgroup; as a normal user they share the
 * launcher's user, and a non-loopback `host` is refused (see isolation.ts).
 */
export function createLocalBackend(
  config: LauncherConfig,
  log: FastifyBaseLogger,
  commands?: RuntimeCommands,
  durable?: Pick<LocalBackendOptions, "records" | "logsDir" | "onClose">,
): LocalBackend {
  const { mode } = decideIsolation({ uid: process.getuid?.(), host: config.host });
  return new LocalBackend({
    isolation:
      mode === "users"
        ? {
            mode,
            limits: {
              memoryBytes: parseByteSize(config.local.sandboxMemory),
              cpus: config.local.sandboxCpus,
              pids: config.local.sandboxPids,
            },
          }
        : { mode },
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
    idleTimeoutMs:
      config.workshop.idleTimeoutMinutes === undefined
        ? undefined
        : config.workshop.idleTimeoutMinutes * 60_000,
    log,
    ...durable,
    archive: new WorkArchive({
      dir: config.local.archivesDir ?? defaultArchivesDir(config.local.sandboxesDir),
      retentionMs: config.local.archiveRetentionDays * 24 * 3_600_000,
      log,
    }),
  });
}
