import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LauncherError } from "../../errors.js";

/** The per-sandbox limits a cgroup enforces (the workshop's per-sandbox resources). */
export interface SandboxLimits {
  memoryBytes: number;
  /** CPUs' worth of time per period (1.5 = one and a half cores). */
  cpus: number;
  /** Processes and threads together. */
  pids: number;
}

export type CgroupVersion = 1 | 2;

/** Which cgroup hierarchy this machine has: v2 (unified) or v1 with memory, cpu and pids. */
export function detectCgroups(root = "/sys/fs/cgroup"): CgroupVersion | undefined {
  if (existsSync(join(root, "cgroup.controllers"))) return 2;
  if (["memory", "cpu", "pids"].every((c) => existsSync(join(root, c, "cgroup.procs")))) return 1;
  return undefined;
}

const UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** `512MiB`, `2GiB`, `1.5GB`, `1000` (bytes) → bytes. */
export function parseByteSize(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(B|KiB|MiB|GiB|KB|MB|GB)?$/.exec(text);
  if (!m) throw new LauncherError("invalid-config", `"${text}" is not a size like 512MiB or 2GiB`);
  return Math.floor(Number(m[1]) * (UNITS[m[2] ?? "B"] ?? 1));
}

const PERIOD_US = 100_000;

/**
 * The cgroup of one sandbox: `launchbay/<sandbox>` in the memory, cpu and pids hierarchies
 * (v1) or in the unified hierarchy (v2). Every process of the sandbox joins it before it
 * runs any of its own code (see `jail.ts`), so the limits hold for everything the
 * sandbox starts, and stopping the sandbox kills whatever is still in it.
 */
export class SandboxCgroup {
  /** One directory per hierarchy (three on v1, one on v2). */
  readonly dirs: string[];

  constructor(
    readonly version: CgroupVersion,
    readonly name: string,
    private readonly root = "/sys/fs/cgroup",
  ) {
    this.dirs =
      version === 2
        ? [join(root, "launchbay", name)]
        : ["memory", "cpu", "pids"].map((c) => join(root, c, "launchbay", name));
  }

  /** The `cgroup.procs` files a process writes its pid to, to join. */
  get procsFiles(): string[] {
    return this.dirs.map((d) => join(d, "cgroup.procs"));
  }

  async create(limits: SandboxLimits): Promise<void> {
    if (this.version === 2) await this.createV2(limits);
    else await this.createV1(limits);
  }

  private async createV1(limits: SandboxLimits): Promise<void> {
    const [memory, cpu, pids] = this.dirs as [string, string, string];
    for (const dir of this.dirs) await mkdir(dir, { recursive: true });
    await writeFile(join(memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
    // With swap accounting the limit covers swap too, so swapping cannot get round it.
    if (existsSync(join(memory, "memory.memsw.limit_in_bytes")))
      await writeFile(join(memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
    await writeFile(join(cpu, "cpu.cfs_period_us"), String(PERIOD_US));
    await writeFile(join(cpu, "cpu.cfs_quota_us"), String(Math.round(limits.cpus * PERIOD_US)));
    await writeFile(join(pids, "pids.max"), String(limits.pids));
  }

  private async createV2(limits: SandboxLimits): Promise<void> {
    const parent = join(this.root, "launchbay");
    await enableControllers(this.root);
    await mkdir(parent, { recursive: true });
    await enableControllers(parent);
    const dir = this.dirs[0]!;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
    if (existsSync(join(dir, "memory.swap.max")))
      await writeFile(join(dir, "memory.swap.max"), "0");
    await writeFile(join(dir, "cpu.max"), `${Math.round(limits.cpus * PERIOD_US)} ${PERIOD_US}`);
    await writeFile(join(dir, "pids.max"), String(limits.pids));
  }

  /** Pids of every process still in the group. */
  async pids(): Promise<number[]> {
    const seen = new Set<number>();
    for (const file of this.procsFiles) {
      try {
        for (const line of (await readFile(file, "utf8")).split("\n"))
          if (/^\d+$/.test(line)) seen.add(Number(line));
      } catch {
        // Already removed.
      }
    }
    return [...seen];
  }

  /**
   * Kills everything in the group (SIGKILL; `cgroup.kill` on v2) and waits until it is
   * empty, then removes the group. Returns how many processes were still in it.
   */
  async destroy(timeoutMs = 10_000): Promise<number> {
    const first = await this.pids();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = await this.pids();
      if (left.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `cgroup ${this.name} still has processes ${left.join(", ")} after ${timeoutMs} ms`,
        );
      }
      const killFile = join(this.dirs[0]!, "cgroup.kill");
      if (this.version === 2 && existsSync(killFile)) await writeFile(killFile, "1");
      else
        for (const pid of left) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Exited meanwhile.
          }
        }
      // Killed processes leave the group once the kernel has reaped them: a moment.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const dir of this.dirs) {
      try {
        await rmdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    return first.length;
  }

  /** Removes the shared `launchbay` parent group(s) if no sandbox of any launcher uses them. */
  static async removeParents(version: CgroupVersion, root = "/sys/fs/cgroup"): Promise<void> {
    const parents =
      version === 2
        ? [join(root, "launchbay")]
        : ["memory", "cpu", "pids"].map((c) => join(root, c, "launchbay"));
    for (const dir of parents) {
      try {
        await rmdir(dir);
      } catch {
        // Another launcher's sandbox is in it, or it is gone already.
      }
    }
  }

  /** How many times the kernel OOM-killed a process of this group (v1 `oom_kill`, v2 `oom_kill`). */
  async oomKills(): Promise<number> {
    const file =
      this.version === 2
        ? join(this.dirs[0]!, "memory.events")
        : join(this.dirs[0]!, "memory.oom_control");
    const text = await readFile(file, "utf8");
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  }
}

async function enableControllers(dir: string): Promise<void> {
  const available = (await readFile(join(dir, "cgroup.controllers"), "utf8")).trim().split(/\s+/);
  const missing = ["memory", "cpu", "pids"].filter((c) => !available.includes(c));
  if (missing.length > 0) {
    throw new LauncherError(
      "invalid-config",
      `the cgroup ${dir} does not offer the ${missing.join(", ")} controller(s) that sandbox limits need`,
    );
  }
  await writeFile(join(dir, "cgroup.subtree_control"), "+memory +cpu +pids");
}
