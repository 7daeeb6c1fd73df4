import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { basename, dirname, join } from "node:path";
import type { FastifyBaseLogger } from "fastify";
import { newToken } from "../../core/ids.js";
import { LauncherError } from "../../errors.js";
import type {
  Backend,
  BackendCapacity,
  ClaimRequest,
  ConditionType,
  CreateRequest,
  SandboxListener,
  SandboxState,
  ServiceName,
  Upstream,
} from "../backend.js";
import { SandboxStore } from "../sandbox-store.js";
import { type CgroupVersion, detectCgroups, SandboxCgroup, type SandboxLimits } from "./cgroup.js";
import { CrashWindow, DEFAULT_RESTART_POLICY, type RestartPolicy } from "./crash-window.js";
import { type NeededPath, planCovers } from "./exposure.js";
import { freePort } from "./free-port.js";
import type { IsolationMode } from "./isolation.js";
import { type Jail, jailed } from "./jail.js";
import { type RuntimeCommands, sandboxPath } from "./runtime-commands.js";
import {
  handOverSandboxDir,
  layoutFor,
  prepareSandboxDir,
  removeSandboxDir,
  type SandboxDirLayout,
} from "./sandbox-dir.js";
import {
  createSandboxUser,
  existingSandboxUser,
  removeSandboxUser,
  type SandboxUser,
  sandboxUserName,
} from "./sandbox-user.js";
import {
  type CommandSpec,
  describeExit,
  type ExitInfo,
  killByEnvMarker,
  ServiceProcess,
} from "./service-process.js";
import { AdoptedProcess } from "./adopted-process.js";
import { processStartTime } from "./process-identity.js";
import type { SandboxRecord, SandboxRecordStore } from "./sandbox-record.js";
import { sandboxLogsDir, serviceLogFiles } from "./service-logs.js";
import type { ArchivedWork, WorkArchive } from "./work-archive.js";

/** Every process of a local sandbox carries this variable, so none can be left behind. */
export const SANDBOX_ENV_MARKER = "LAUNCHBAY_LOCAL_SANDBOX";

export interface LocalBackendOptions {
  sandboxesDir: string;
  notebooksDir: string;
  clientEntry: { js: string; dts: string };
  /** Node's type declarations (`@types/node`), linked into each sandbox for the tslab kernel. */
  typesNodeDir?: string;
  commands: RuntimeCommands;
  /** The sandbox origins' domain: sandbox `<id>` is served as `<id>.<sandboxDomain>`. */
  sandboxDomain: string;
  workers: number;
  workerThreads: number;
  workerMemoryLimit: string;
  startTimeoutMs: number;
  log: FastifyBaseLogger;
  now?: () => number;
  /** How often expiry is checked (level-based: whenever now ≥ expiresAt, the sandbox goes). */
  expiryCheckMs?: number;
  /**
   * Expire an attendee's sandbox that no proxied request (page, API call, WebSocket) has
   * reached for this long: the Workshop's `idleTimeout`. Never when unset (its default).
   * The idle clock starts at creation, claim or this backend's start, whichever is last.
   */
  idleTimeoutMs?: number;
  /** How often a starting sandbox's scheduler and notebook are polled for readiness. */
  pollMs?: number;
  /**
   * `users` (the launcher runs as root): a Unix user, 0700 home, cgroup with `limits` and
   * a mount-namespace view per sandbox. `shared` (default): every sandbox runs as the
   * launcher's user. Either way a sandbox's processes get a minimal environment of their own.
   */
  isolation?: { mode: "users"; limits: SandboxLimits; cgroupRoot?: string } | { mode: "shared" };
  /**
   * Durable state (the launcher's SQLite database): every sandbox is recorded as it
   * changes, and `start()` reconciles the records with the processes still running
   * (see `reconcile`). Without it sandboxes live in memory only.
   */
  records?: SandboxRecordStore;
  /** Where service output goes (files that outlive the launcher); needed with `records`. */
  logsDir?: string;
  /**
   * `keep`: `close()` leaves every sandbox running for the next launcher to re-adopt.
   * `stop` (default): `close()` stops every sandbox and removes its directory.
   */
  onClose?: "keep" | "stop";
  /**
   * A Ready sandbox's process that dies is restarted with backoff (the scheduler on its
   * own port and token); the sandbox turns Failed only after `maxCrashes` of one process
   * within `windowMs`.
   */
  restartPolicy?: RestartPolicy;
  /**
   * Where attendees' work is kept after their sandbox ends (expiry, Expire, failure,
   * shutdown) and restored from into their next sandbox. Without it, work ends with the
   * sandbox.
   */
  archive?: WorkArchive;
  /** How often archives past their retention are deleted (also once at start). */
  archiveSweepMs?: number;
}

/** One supervised process of a sandbox: how to start it again, and its crash history. */
interface Service {
  name: string;
  spec: CommandSpec;
  proc?: ServiceProcess;
  crashes: CrashWindow;
  restartTimer?: NodeJS.Timeout;
}

/** A service process of a sandbox: started by this launcher, or adopted after a restart. */
interface SandboxProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  readonly hasExited: boolean;
  lastOutput(lines?: number): string;
  stop(graceMs?: number): Promise<void>;
  detach(): void;
}

interface LocalSandbox {
  layout: SandboxDirLayout;
  runtimeToken: string;
  notebookToken: string;
  processes: SandboxProcess[];
  /** Each process's pid and start time, as recorded for re-adoption. */
  identities: { name: string; pid: number; startTime: number }[];
  services: Map<string, Service>;
  /** True once the work directory holds the attendee's work (tutorials, restored archive). */
  workInPlace: boolean;
  schedulerHttp?: URL;
  notebookPort?: number;
  stopping: boolean;
  /** True while its documents are saved before a stop (a second delete does nothing). */
  savingBeforeStop?: boolean;
  /** Aborts polling loops when the sandbox is deleted while starting. */
  abort: AbortController;
  /** Settles when provisioning ended (Ready, failed or aborted). */
  provisioning?: Promise<void>;
  /** `users` isolation: the sandbox's own user, cgroup and confinement. */
  user?: SandboxUser;
  cgroup?: SandboxCgroup;
  jail?: Jail;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error("sandbox deleted while starting"));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("sandbox deleted while starting"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** An exit in plain words for an attendee. */
function plainExit(info: ExitInfo): string {
  if (info.signal === "SIGKILL") return "it was killed";
  if (info.signal) return `it was stopped by ${info.signal}`;
  return `it exited with code ${info.code}`;
}

/**
 * Runs each sandbox as processes on this machine: a scheduler, N workers and a JupyterLab
 * server (tslab kernel), each sandbox in its own directory with its own ports and tokens.
 */
export class LocalBackend implements Backend {
  readonly kind = "local" as const;
  private readonly store = new SandboxStore();
  private readonly local = new Map<string, LocalSandbox>();
  private readonly now: () => number;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** The last proxied request per sandbox (epoch ms), for the idle timeout. */
  private readonly lastActivity = new Map<string, number>();
  private startedAt = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Runs before a Ready sandbox is stopped by delete (the save bridge; see setBeforeStop). */
  private beforeStop: ((id: string) => Promise<void>) | undefined;
  private cgroupVersion: CgroupVersion | undefined;
  private stageDir: string | undefined;

  constructor(private readonly options: LocalBackendOptions) {
    this.now = options.now ?? Date.now;
    const records = options.records;
    if (records) {
      // Written synchronously on every change: a kill -9 right after loses nothing.
      this.store.subscribe((event) => {
        if (event.type === "deleted") records.remove(event.state.id);
        else this.save(event.state.id);
      });
    }
  }

  /** Writes the sandbox's record (state, tokens, ports, process identities). */
  private save(id: string): void {
    const records = this.options.records;
    const state = this.store.get(id);
    const sandbox = this.local.get(id);
    if (!records || !state || !sandbox) return;
    records.save({
      state,
      local: {
        root: sandbox.layout.root,
        runtimeToken: sandbox.runtimeToken,
        notebookToken: sandbox.notebookToken,
        notebookPort: sandbox.notebookPort,
        schedulerHttp: sandbox.schedulerHttp?.href,
        user: sandbox.user,
        cgroup: sandbox.cgroup !== undefined,
        processes: sandbox.identities,
      },
    });
  }

  get isolation(): IsolationMode {
    return this.options.isolation?.mode ?? "shared";
  }

  async start(): Promise<void> {
    const isolation = this.options.isolation;
    if (isolation?.mode === "users") {
      if (process.getuid?.() !== 0) {
        throw new LauncherError(
          "invalid-config",
          "a Unix user per sandbox needs the launcher to run as root",
        );
      }
      this.cgroupVersion = detectCgroups(isolation.cgroupRoot);
      if (!this.cgroupVersion) {
        throw new LauncherError(
          "invalid-config",
          `no cgroup v2 (${isolation.cgroupRoot ?? "/sys/fs/cgroup"}/cgroup.controllers) or v1 memory, cpu and pids hierarchies: sandboxes cannot be given resource limits on this machine`,
        );
      }
      // Other users may pass through to their own sandbox, but not list the others.
      await mkdir(this.options.sandboxesDir, { recursive: true });
      await chmod(this.options.sandboxesDir, 0o711);
      // An empty directory of the launcher's own, used as a mount point while each
      // sandbox's view of the file system is built.
      this.stageDir = await mkdtemp(join(tmpdir(), "launchbay-stage-"));
    }
    await this.reconcile();
    this.startedAt = this.now();
    this.expiryTimer = setInterval(() => this.expireDue(), this.options.expiryCheckMs ?? 1000);
    this.expiryTimer.unref();
    const archive = this.options.archive;
    if (archive) {
      const sweep = () =>
        archive
          .sweep()
          .catch((err: unknown) => this.options.log.error({ err }, "Sweeping archives failed"));
      await sweep();
      this.sweepTimer = setInterval(sweep, this.options.archiveSweepMs ?? 3_600_000);
      this.sweepTimer.unref();
    }
  }

  /**
   * Brings the recorded sandboxes of an earlier launcher process back under control:
   * - Ready, with every process still the one recorded (pid + start time + marker) and
   *   the scheduler and notebook answering: re-adopted as it is (kernels, work, tokens).
   * - Ready or Failed but not all there: every leftover process is stopped and the
   *   sandbox is Failed, saying why; its work stays on disk.
   * - Still starting (Pending/Provisioning): leftovers are stopped, its user, cgroup and
   *   directory removed, and it is started again from the beginning for the same
   *   attendee, with the same id and expiry.
   * - Expiring: the deletion is finished.
   * Expired sandboxes then go at the first expiry check, as they would have.
   */
  private async reconcile(): Promise<void> {
    const records = this.options.records;
    if (!records) return;
    const { records: found, invalid } = records.load();
    for (const bad of invalid) {
      this.options.log.error(
        { sandbox: bad.id, problem: bad.problem },
        "Dropping an unreadable sandbox record; stopping whatever carries its marker",
      );
      killByEnvMarker(SANDBOX_ENV_MARKER, bad.id);
      records.remove(bad.id);
    }
    await Promise.all(found.map((record) => this.reconcileOne(record)));
  }

  private async reconcileOne(record: SandboxRecord): Promise<void> {
    const { state, local } = record;
    const id = state.id;
    const log = this.options.log.child({ sandbox: id });
    const isolation = this.options.isolation;
    const sandbox: LocalSandbox = {
      layout: layoutFor(dirname(local.root), basename(local.root)),
      runtimeToken: local.runtimeToken,
      notebookToken: local.notebookToken,
      notebookPort: local.notebookPort,
      schedulerHttp: local.schedulerHttp ? new URL(local.schedulerHttp) : undefined,
      processes: [],
      identities: local.processes,
      services: new Map(),
      // A recorded sandbox's work directory holds the attendee's work (archived if it ends).
      workInPlace: true,
      stopping: false,
      abort: new AbortController(),
      user: local.user,
      cgroup:
        local.cgroup && this.cgroupVersion && isolation?.mode === "users"
          ? new SandboxCgroup(this.cgroupVersion, id, isolation.cgroupRoot)
          : undefined,
    };
    const marker = `${SANDBOX_ENV_MARKER}=${id}`;
    const adopted = local.processes.map(
      (p) =>
        new AdoptedProcess(
          p.name,
          { pid: p.pid, startTime: p.startTime },
          marker,
          serviceLogFiles(this.logsDir(), id, p.name),
          [local.runtimeToken, local.notebookToken],
        ),
    );
    sandbox.processes = adopted;
    this.local.set(id, sandbox);
    this.store.put(state);

    if (state.phase === "Ready") {
      const dead = adopted.filter((p) => !p.alive()).map((p) => p.name);
      const answers =
        dead.length === 0 &&
        (await this.notebookAnswers(sandbox, id)) &&
        (await this.schedulerAnswers(sandbox));
      if (answers) {
        for (const proc of adopted) this.watchExit(id, sandbox, proc);
        log.info({ pids: adopted.map((p) => p.pid) }, "Re-adopted running sandbox");
        return;
      }
      const why =
        dead.length > 0
          ? `${dead.join(", ")} stopped while the launcher was not running`
          : "its scheduler or notebook stopped answering while the launcher was not running";
      log.warn({ why }, "Sandbox cannot be re-adopted; stopping it");
      this.patch(id, { phase: "Failed", message: `Your sandbox stopped: ${why}` });
      await this.stopProcesses(id, sandbox);
      return;
    }
    if (state.phase === "Failed") {
      await this.stopProcesses(id, sandbox);
      return;
    }
    if (state.phase === "Expiring") {
      await this.delete(id);
      return;
    }
    // Pending or Provisioning: whatever it had started goes, then it starts afresh.
    log.info("Sandbox was starting when the launcher stopped; starting it again");
    await this.stopProcesses(id, sandbox);
    if (this.cgroupVersion && isolation?.mode === "users") {
      // Made (or half made) before it was recorded: an empty group, or none.
      await new SandboxCgroup(this.cgroupVersion, id, isolation.cgroupRoot).destroy();
    }
    await removeSandboxDir(sandbox.layout);
    await rm(sandboxLogsDir(this.logsDir(), id), { recursive: true, force: true });
    const user = sandbox.user ?? (await existingSandboxUser(sandboxUserName(id)));
    if (user && isolation?.mode === "users") await removeSandboxUser(user);
    this.local.delete(id);
    this.store.remove(id);
    await this.create({ id, owner: state.owner, expiresAt: state.expiresAt });
  }

  private async schedulerAnswers(sandbox: LocalSandbox): Promise<boolean> {
    if (!sandbox.schedulerHttp) return false;
    try {
      const res = await fetch(new URL("/api/status", sandbox.schedulerHttp), {
        headers: { authorization: `Bearer ${sandbox.runtimeToken}` },
        signal: AbortSignal.timeout(2000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  private logsDir(): string {
    return this.options.logsDir ?? join(this.options.sandboxesDir, ".logs");
  }

  async create(request: CreateRequest): Promise<SandboxState> {
    if (this.closing) throw new LauncherError("shutting-down", "the launcher is shutting down");
    if (this.store.get(request.id))
      throw new LauncherError("invalid-request", `sandbox ${request.id} already exists`);
    const state: SandboxState = {
      id: request.id,
      owner: request.owner,
      phase: "Pending",
      conditions: [],
      message: "Preparing your working directory",
      createdAt: this.now(),
      expiresAt: request.expiresAt,
      workers: { ready: 0, desired: this.options.workers },
      warm: request.owner === "",
    };
    const sandbox: LocalSandbox = {
      layout: layoutFor(this.options.sandboxesDir, request.id),
      runtimeToken: newToken(),
      notebookToken: newToken(),
      processes: [],
      identities: [],
      services: new Map(),
      workInPlace: false,
      stopping: false,
      abort: new AbortController(),
    };
    this.local.set(request.id, sandbox);
    this.store.put(state);
    sandbox.provisioning = this.provision(request.id, sandbox).catch((err: unknown) =>
      this.fail(request.id, err),
    );
    return state;
  }

  private patch(id: string, patch: Partial<SandboxState>): SandboxState | undefined {
    const current = this.store.get(id);
    if (!current) return undefined;
    const next = { ...current, ...patch };
    this.store.put(next);
    return next;
  }

  private setCondition(id: string, type: ConditionType, message = ""): void {
    const current = this.store.get(id);
    if (!current) return;
    const conditions = current.conditions.filter((c) => c.type !== type);
    conditions.push({ type, status: "True", reason: "Running", message });
    this.patch(id, { conditions });
  }

  /** The spec as it runs: the sandbox's environment, directory and (as root) confinement. */
  private fullSpec(id: string, sandbox: LocalSandbox, spec: CommandSpec): CommandSpec {
    const full: CommandSpec = {
      ...spec,
      cwd: spec.cwd ?? sandbox.layout.work,
      env: { ...this.baseEnv(id, sandbox), ...spec.env, [SANDBOX_ENV_MARKER]: id },
    };
    return sandbox.jail ? jailed(full, sandbox.jail) : full;
  }

  private spawn(id: string, sandbox: LocalSandbox, name: string, spec: CommandSpec) {
    if (sandbox.stopping) throw new Error("sandbox deleted while starting");
    const service: Service = {
      name,
      spec: this.fullSpec(id, sandbox, spec),
      crashes: new CrashWindow(this.options.restartPolicy ?? DEFAULT_RESTART_POLICY),
    };
    sandbox.services.set(name, service);
    return this.run(id, sandbox, service);
  }

  private run(id: string, sandbox: LocalSandbox, service: Service): ServiceProcess {
    const proc = new ServiceProcess(
      service.name,
      service.spec,
      this.options.log.child({ sandbox: id }),
      {
        redact: [sandbox.runtimeToken, sandbox.notebookToken],
        logFiles: this.options.records
          ? serviceLogFiles(this.logsDir(), id, service.name)
          : undefined,
      },
    );
    service.proc = proc;
    sandbox.processes.push(proc);
    sandbox.identities = sandbox.identities.filter((i) => i.name !== service.name);
    const startTime = proc.pid === undefined ? undefined : processStartTime(proc.pid);
    if (proc.pid !== undefined && startTime !== undefined) {
      sandbox.identities.push({ name: service.name, pid: proc.pid, startTime });
      this.save(id);
    }
    proc.exited.then((info) => this.onExit(id, sandbox, service, proc, info));
    return proc;
  }

  /**
   * A re-adopted process (started by an earlier launcher) that stops fails the sandbox,
   * saying which and why: this launcher has no command to restart it with.
   */
  private watchExit(id: string, sandbox: LocalSandbox, proc: SandboxProcess): void {
    const name = proc.name;
    proc.exited.then((info) => {
      if (sandbox.stopping || this.closing) return;
      const state = this.store.get(id);
      if (!state || state.phase === "Failed" || state.phase === "Expiring") return;
      this.fail(
        id,
        new Error(
          `the ${name} stopped unexpectedly (${describeExit(info)}): ${proc.lastOutput(3)}`,
        ),
      );
    });
  }

  /**
   * A process ended on its own. While the sandbox starts, that fails it (the start has
   * its own timeout); once Ready, the process is restarted with backoff, and the sandbox
   * fails only when the same process crashed too often within the window.
   */
  private onExit(
    id: string,
    sandbox: LocalSandbox,
    service: Service,
    proc: ServiceProcess,
    info: ExitInfo,
  ): void {
    if (sandbox.stopping || this.closing) return;
    const state = this.store.get(id);
    if (!state || state.phase === "Failed" || state.phase === "Expiring") return;
    const name = service.name;
    if (state.phase !== "Ready") {
      this.fail(
        id,
        new Error(
          `the ${name} stopped unexpectedly (${describeExit(info)}): ${proc.lastOutput(3)}`,
        ),
      );
      return;
    }
    const policy = this.options.restartPolicy ?? DEFAULT_RESTART_POLICY;
    const decision = service.crashes.crashed(this.now());
    if (!decision.restart) {
      this.fail(
        id,
        new Error(
          `The ${name} stopped ${decision.crashes} times within ${Math.round(policy.windowMs / 1000)} seconds (the last time ${plainExit(info)}), so this sandbox was stopped.${this.options.archive?.enabled ? " Your work was saved: download it, or press Try again to start a new sandbox with your work in it." : ""}`,
        ),
      );
      return;
    }
    this.options.log.warn(
      { sandbox: id, process: name, exit: describeExit(info), delayMs: decision.delayMs },
      "Restarting sandbox process",
    );
    this.patch(id, { message: `Restarting the ${name}, which stopped (${plainExit(info)})` });
    service.restartTimer = setTimeout(() => {
      service.restartTimer = undefined;
      if (sandbox.stopping || this.closing) return;
      sandbox.processes = sandbox.processes.filter((p) => p !== proc);
      // Whatever the dead process started (its process group) goes before the new one.
      proc.killGroup();
      try {
        this.run(id, sandbox, service);
      } catch (err) {
        this.fail(id, err);
        return;
      }
      if (this.store.get(id)?.phase === "Ready")
        this.patch(id, { message: "Your sandbox is running" });
    }, decision.delayMs);
  }

  /**
   * A sandbox process's whole environment before its own variables: built from nothing,
   * so no secret of the launcher's (organiser token, cookie secret, cloud credentials)
   * can reach a notebook.
   */
  private baseEnv(id: string, sandbox: LocalSandbox): Record<string, string> {
    const user = sandbox.user?.name ?? userInfo().username;
    return {
      PATH: sandboxPath(),
      HOME: sandbox.layout.root,
      USER: user,
      LOGNAME: user,
      LANG: "C.UTF-8",
      TMPDIR: sandbox.layout.tmp,
      [SANDBOX_ENV_MARKER]: id,
    };
  }

  /** `users` isolation: the sandbox's own user, home, cgroup and file-system view. */
  private async confine(id: string, sandbox: LocalSandbox): Promise<void> {
    const isolation = this.options.isolation;
    if (isolation?.mode !== "users" || !this.cgroupVersion || !this.stageDir) return;
    const o = this.options;
    sandbox.user = await createSandboxUser(sandboxUserName(id), sandbox.layout.root);
    await handOverSandboxDir(sandbox.layout, sandbox.user);
    sandbox.cgroup = new SandboxCgroup(this.cgroupVersion, id, isolation.cgroupRoot);
    await sandbox.cgroup.create(isolation.limits);
    const needed: NeededPath[] = [
      ...(o.commands.sharedPaths ?? []),
      dirname(o.clientEntry.js),
      dirname(o.clientEntry.dts),
      ...(o.typesNodeDir ? [o.typesNodeDir] : []),
    ].map((path) => ({ path, writable: false }));
    needed.push({ path: sandbox.layout.root, writable: true });
    sandbox.jail = {
      user: sandbox.user,
      cgroupProcs: sandbox.cgroup.procsFiles,
      covers: planCovers(needed),
      stageDir: this.stageDir,
    };
    o.log.info(
      { sandbox: id, user: sandbox.user.name, uid: sandbox.user.uid, cgroup: sandbox.cgroup.dirs },
      "Created sandbox user and cgroup",
    );
  }

  private async provision(id: string, sandbox: LocalSandbox): Promise<void> {
    const o = this.options;
    const log = o.log.child({ sandbox: id });
    const deadline = this.now() + o.startTimeoutMs;
    const signal = sandbox.abort.signal;
    await prepareSandboxDir(sandbox.layout, o.notebooksDir, o.clientEntry, o.typesNodeDir);
    if (signal.aborted) return;
    const owner = this.store.get(id)?.owner ?? "";
    if (o.archive && (await o.archive.restore(owner, sandbox.layout.work))) {
      this.patch(id, { message: "Your saved work is back in place" });
    }
    sandbox.workInPlace = true;
    if (signal.aborted) return;
    await this.confine(id, sandbox);
    if (signal.aborted) return;
    this.patch(id, { phase: "Provisioning", message: "Starting the scheduler" });

    const scheduler = this.spawn(
      id,
      sandbox,
      "scheduler",
      o.commands.scheduler({ token: sandbox.runtimeToken }),
    );
    const notebookPort = await freePort();
    sandbox.notebookPort = notebookPort;
    const baseUrl = `/s/${id}/notebook/`;
    // Jupyter needs the scheduler's address in its environment, so it starts second; it
    // boots while the workers register.
    const address = await scheduler.firstStdoutLine(o.startTimeoutMs);
    if (!/^wss?:\/\/[^\s]+$/.test(address)) {
      throw new Error(`the scheduler printed "${address}" instead of its ws:// address`);
    }
    sandbox.schedulerHttp = new URL(address.replace(/^ws/, "http"));
    // A restarted scheduler comes back on the same port with the same token, so the
    // workers (which redial forever) and the notebook's client find it again.
    const schedulerService = sandbox.services.get("scheduler");
    if (schedulerService) {
      schedulerService.spec = this.fullSpec(
        id,
        sandbox,
        o.commands.scheduler({
          token: sandbox.runtimeToken,
          port: Number(sandbox.schedulerHttp.port),
        }),
      );
    }
    this.save(id);
    log.info({ address }, "Started scheduler");
    this.setCondition(id, "SchedulerReady");

    const jupyterSpec = o.commands.jupyter({
      port: notebookPort,
      baseUrl,
      hostName: `${id}.${o.sandboxDomain}`,
      token: sandbox.notebookToken,
      rootDir: sandbox.layout.work,
      jupyterDir: sandbox.layout.jupyter,
    });
    this.spawn(id, sandbox, "notebook", {
      ...jupyterSpec,
      env: {
        ...jupyterSpec.env,
        LAUNCHBAY_SCHEDULER: address,
        LAUNCHBAY_TOKEN: sandbox.runtimeToken,
        LAUNCHBAY_DASHBOARD_URL: dashboardPath(id),
      },
    });
    for (let i = 0; i < o.workers; i += 1) {
      this.spawn(
        id,
        sandbox,
        `worker ${i + 1}`,
        o.commands.worker({
          address,
          token: sandbox.runtimeToken,
          name: `${id}-worker-${i + 1}`,
          nthreads: o.workerThreads,
          memoryLimit: o.workerMemoryLimit,
        }),
      );
    }
    this.patch(id, { message: `Starting ${o.workers} workers and the notebook` });

    let workersReady = false;
    let notebookReady = false;
    while (!(workersReady && notebookReady)) {
      if (signal.aborted) return;
      if (this.now() > deadline) {
        throw new Error(
          `not ready after ${Math.round(o.startTimeoutMs / 1000)} s (${workersReady ? "" : "workers "}${notebookReady ? "" : "notebook "}still starting)`,
        );
      }
      if (!workersReady) {
        const ready = await this.countWorkers(sandbox);
        this.patch(id, { workers: { ready: Math.min(ready, o.workers), desired: o.workers } });
        if (ready >= o.workers) {
          workersReady = true;
          this.setCondition(id, "WorkersReady");
          log.info({ workers: ready }, "Workers registered");
        }
      }
      if (!notebookReady && (await this.notebookAnswers(sandbox, id))) {
        notebookReady = true;
        this.setCondition(id, "NotebookReady");
        log.info({ port: notebookPort }, "Started notebook");
      }
      if (!(workersReady && notebookReady)) await sleep(o.pollMs ?? 200, signal);
    }
    if (signal.aborted) return;
    this.setCondition(id, "Ready");
    this.patch(id, { phase: "Ready", readyAt: this.now(), message: "Your sandbox is running" });
  }

  private async countWorkers(sandbox: LocalSandbox): Promise<number> {
    if (!sandbox.schedulerHttp) return 0;
    try {
      const res = await fetch(new URL("/api/status", sandbox.schedulerHttp), {
        headers: { authorization: `Bearer ${sandbox.runtimeToken}` },
        signal: AbortSignal.timeout(2000),
      });
      if (!res.ok) return 0;
      const body = (await res.json()) as { workers?: unknown[] };
      return Array.isArray(body.workers) ? body.workers.length : 0;
    } catch {
      return 0;
    }
  }

  private async notebookAnswers(sandbox: LocalSandbox, id: string): Promise<boolean> {
    try {
      const res = await fetch(
        `http://127.0.0.1:${sandbox.notebookPort}/s/${id}/notebook/api/status`,
        {
          headers: { authorization: `token ${sandbox.notebookToken}` },
          signal: AbortSignal.timeout(2000),
        },
      );
      return res.ok;
    } catch {
      return false;
    }
  }

  private fail(id: string, err: unknown): void {
    const sandbox = this.local.get(id);
    // Closing: `keep` leaves it for the next launcher, `stop` is deleting it anyway.
    if (!sandbox || sandbox.stopping || this.closing) return;
    const message = err instanceof Error ? err.message : String(err);
    this.options.log.error({ sandbox: id, err }, "Sandbox failed");
    this.patch(id, { phase: "Failed", message });
    void this.stopProcesses(id, sandbox).then(() => this.archiveWork(id, sandbox));
  }

  /**
   * Copies the attendee's work into the archive (when configured). Resolves false when it
   * could not: the caller then keeps the work directory.
   */
  private async archiveWork(id: string, sandbox: LocalSandbox): Promise<boolean> {
    const archive = this.options.archive;
    const owner = this.store.get(id)?.owner ?? "";
    if (!archive?.enabled || owner === "" || !sandbox.workInPlace) return true;
    try {
      await archive.save(owner, sandbox.layout.work, id);
      return true;
    } catch (err) {
      this.options.log.error(
        { sandbox: id, err, workDir: sandbox.layout.work },
        "Archiving work failed; keeping the work directory",
      );
      return false;
    }
  }

  private async stopProcesses(id: string, sandbox: LocalSandbox): Promise<void> {
    sandbox.stopping = true;
    sandbox.abort.abort();
    for (const service of sandbox.services.values()) clearTimeout(service.restartTimer);
    await Promise.all(sandbox.processes.map((p) => p.stop()));
    // Whatever a sandbox started on its own: its cgroup holds all of it (a process
    // cannot leave it); the environment marker finds it without one.
    let stragglers = killByEnvMarker(SANDBOX_ENV_MARKER, id);
    if (sandbox.cgroup) stragglers += await sandbox.cgroup.destroy();
    if (stragglers > 0)
      this.options.log.warn({ sandbox: id, stragglers }, "Killed leftover sandbox processes");
  }

  async claim(request: ClaimRequest): Promise<SandboxState | undefined> {
    const warm = this.store.list().find((s) => s.warm && s.owner === "" && s.phase === "Ready");
    if (!warm) return undefined;
    const claimed = this.patch(warm.id, {
      owner: request.owner,
      expiresAt: request.expiresAt,
      warm: false,
    });
    this.lastActivity.set(warm.id, this.now());
    const sandbox = this.local.get(warm.id);
    if (sandbox && this.options.archive) {
      await this.options.archive
        .restore(request.owner, sandbox.layout.work, sandbox.user)
        .catch((err: unknown) =>
          this.options.log.error({ sandbox: warm.id, err }, "Restoring archived work failed"),
        );
    }
    return claimed;
  }

  /** The attendee's archived work (from a sandbox that ended), within its retention. */
  async archivedWork(owner: string): Promise<ArchivedWork | undefined> {
    return this.options.archive?.find(owner);
  }

  get(id: string): SandboxState | undefined {
    return this.store.get(id);
  }

  list(): SandboxState[] {
    return this.store.list();
  }

  async extend(id: string, expiresAt: number): Promise<SandboxState> {
    const next = this.patch(id, { expiresAt });
    if (!next) throw new LauncherError("not-found", `no sandbox ${id}`);
    return next;
  }

  setBeforeStop(hook: (id: string) => Promise<void>): void {
    this.beforeStop = hook;
  }

  async delete(id: string): Promise<void> {
    const sandbox = this.local.get(id);
    if (!sandbox) throw new LauncherError("not-found", `no sandbox ${id}`);
    if (this.store.get(id)?.phase === "Expiring" && sandbox.stopping) return;
    if (sandbox.savingBeforeStop) return;
    // While it is still Ready (its notebook reachable through the proxy), its open
    // JupyterLab tabs save every document; the hook bounds its own wait.
    if (this.beforeStop && this.store.get(id)?.phase === "Ready") {
      sandbox.savingBeforeStop = true;
      try {
        await this.beforeStop(id);
      } catch (err) {
        this.options.log.warn({ sandbox: id, err }, "Saving open documents before the stop failed");
      } finally {
        sandbox.savingBeforeStop = false;
      }
      if (this.local.get(id) !== sandbox) return;
      if (this.store.get(id)?.phase === "Expiring" && sandbox.stopping) return;
    }
    this.patch(id, { phase: "Expiring", message: "Stopping every process" });
    await this.stopProcesses(id, sandbox);
    // Provisioning may still have been creating the user or cgroup: let it finish
    // (it stops at its next step), then clear up everything it made.
    await sandbox.provisioning;
    await this.stopProcesses(id, sandbox);
    // The work is archived before anything of the sandbox is deleted; if that fails, the
    // work directory stays on disk (and the log says where).
    if (await this.archiveWork(id, sandbox)) await removeSandboxDir(sandbox.layout);
    if (this.options.records)
      await rm(sandboxLogsDir(this.logsDir(), id), { recursive: true, force: true });
    if (sandbox.user) await removeSandboxUser(sandbox.user);
    this.local.delete(id);
    this.store.remove(id);
    this.options.log.info({ sandbox: id }, "Deleted sandbox");
  }

  private expireDue(): void {
    const now = this.now();
    const idleTimeout = this.options.idleTimeoutMs;
    for (const state of this.store.list()) {
      if (state.phase === "Expiring") continue;
      const idleSince = Math.max(
        state.createdAt,
        this.startedAt,
        this.lastActivity.get(state.id) ?? 0,
      );
      const idle =
        idleTimeout !== undefined && state.owner !== "" && now >= idleSince + idleTimeout;
      if (idle) {
        this.options.log.info(
          { sandbox: state.id, idleMinutes: Math.round((now - idleSince) / 60_000) },
          "No activity for the workshop's idle timeout: expiring sandbox",
        );
      }
      if (now >= state.expiresAt || idle) {
        this.lastActivity.delete(state.id);
        this.delete(state.id).catch((err: unknown) =>
          this.options.log.error({ sandbox: state.id, err }, "Expiring sandbox failed"),
        );
      }
    }
  }

  subscribe(listener: SandboxListener): () => void {
    return this.store.subscribe(listener);
  }

  watch(id: string, listener: SandboxListener): () => void {
    return this.store.watch(id, listener);
  }

  capacity(): BackendCapacity {
    return this.store.capacity();
  }

  upstream(id: string, service: ServiceName): Upstream | undefined {
    const state = this.store.get(id);
    const sandbox = this.local.get(id);
    if (!state || !sandbox || state.phase !== "Ready") return undefined;
    if (service === "notebook") {
      return {
        baseUrl: new URL(`http://127.0.0.1:${sandbox.notebookPort}/s/${id}/notebook/`),
        headers: { authorization: `token ${sandbox.notebookToken}` },
      };
    }
    if (!sandbox.schedulerHttp) return undefined;
    return {
      baseUrl: new URL("/dashboard/", sandbox.schedulerHttp),
      headers: { authorization: `Bearer ${sandbox.runtimeToken}` },
    };
  }

  /** Local sandboxes have no idle timeout: their lifetime alone ends them. */
  recordActivity(id: string): void {
    if (this.options.idleTimeoutMs !== undefined && this.store.get(id)) {
      this.lastActivity.set(id, this.now());
    }
  }

  /**
   * What a notebook in this sandbox sees: the working directory and the runtime's
   * environment (for tools that run notebooks outside Jupyter, like the notebook tests).
   */
  notebookEnvironment(id: string): { workDir: string; env: Record<string, string> } | undefined {
    const sandbox = this.local.get(id);
    if (!sandbox?.schedulerHttp || this.store.get(id)?.phase !== "Ready") return undefined;
    return {
      workDir: sandbox.layout.work,
      env: {
        LAUNCHBAY_SCHEDULER: sandbox.schedulerHttp.href.replace(/^http/, "ws").replace(/\/$/, ""),
        LAUNCHBAY_TOKEN: sandbox.runtimeToken,
        LAUNCHBAY_DASHBOARD_URL: dashboardPath(id),
      },
    };
  }

  /**
   * `onClose: "stop"`: stops every sandbox, archives its work and removes its directory,
   * so nothing outlives the launcher and no work is lost with it. `"keep"`: leaves every
   * sandbox running and recorded, for the next launcher on the same state directory to
   * re-adopt.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.options.onClose === "keep" && this.options.records) {
      for (const [id, sandbox] of this.local) {
        for (const proc of sandbox.processes) proc.detach();
        this.options.log.info({ sandbox: id }, "Leaving sandbox running for the next launcher");
      }
      if (this.stageDir) await rm(this.stageDir, { recursive: true, force: true });
      return;
    }
    await Promise.all(
      [...this.local.keys()].map((id) =>
        this.delete(id).catch((err: unknown) =>
          this.options.log.error({ sandbox: id, err }, "Stopping sandbox failed"),
        ),
      ),
    );
    if (this.stageDir) await rm(this.stageDir, { recursive: true, force: true });
    const isolation = this.options.isolation;
    if (this.cgroupVersion && isolation?.mode === "users")
      await SandboxCgroup.removeParents(this.cgroupVersion, isolation.cgroupRoot);
  }

  /** The sandbox's Unix user and cgroup (`users` isolation), for tests and the admin log. */
  confinement(id: string): { user: SandboxUser; cgroup: SandboxCgroup } | undefined {
    const sandbox = this.local.get(id);
    if (!sandbox?.user || !sandbox.cgroup) return undefined;
    return { user: sandbox.user, cgroup: sandbox.cgroup };
  }

  /** The pid of one service process now (`scheduler`, `notebook`, `worker 1`...). */
  servicePid(id: string, name: string): number | undefined {
    return this.local.get(id)?.services.get(name)?.proc?.pid;
  }

  /** Pids of the sandbox's service processes (scheduler, workers, notebook server). */
  servicePids(id: string): number[] {
    return (this.local.get(id)?.processes ?? [])
      .map((p) => p.pid as number | undefined)
      .filter((pid): pid is number => pid !== undefined);
  }
}

/** Where the launcher serves a sandbox's dashboard, on the notebook's own origin. */
function dashboardPath(id: string): string {
  return `/s/${id}/dashboard/`;
}
