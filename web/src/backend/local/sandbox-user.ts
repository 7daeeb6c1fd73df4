import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A sandbox's own Unix user. */
export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
}

/** GECOS comment of every user the launcher creates, so they are easy to find and audit. */
export const SANDBOX_USER_COMMENT = "launchbay sandbox";

/** `sb-abc…` → `lb-abc…`: a valid Unix user name (lower case, ≤ 32 characters). */
export function sandboxUserName(sandboxId: string): string {
  const tail = sandboxId
    .replace(/^sb-/, "")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-");
  return `lb-${tail}`.slice(0, 32);
}

// useradd and userdel lock /etc/passwd; two at once (another launcher, a package install)
// fail with "cannot lock". Within this process they run one at a time; across processes
// a failed lock is retried.
let queue: Promise<unknown> = Promise.resolve();
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

async function withLockRetry(command: string, args: string[]): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { stdout } = await run(command, args, { timeout: 30_000 });
      return stdout;
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "");
      if (attempt < 20 && /lock/i.test(stderr)) {
        await new Promise((resolve) => setTimeout(resolve, 50 + attempt * 50));
        continue;
      }
      throw new Error(`${command} ${args.join(" ")} failed: ${stderr.trim() || String(err)}`, {
        cause: err,
      });
    }
  }
}

/**
 * Creates a system user (and its own group) for a sandbox, with `home` as its home
 * directory (created by the caller), no password and no login shell.
 */
export function createSandboxUser(name: string, home: string): Promise<SandboxUser> {
  return serialised(async () => {
    await withLockRetry("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      home,
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      SANDBOX_USER_COMMENT,
      name,
    ]);
    const uid = Number((await run("id", ["-u", name])).stdout.trim());
    const gid = Number((await run("id", ["-g", name])).stdout.trim());
    return { name, uid, gid };
  });
}

/**
 * Removes a sandbox's user and group once its processes are gone, and first every file
 * it left in the shared temporary directories: a later sandbox may be given the same uid.
 */
export function removeSandboxUser(user: SandboxUser): Promise<void> {
  return serialised(async () => {
    try {
      await run(
        "find",
        ["/tmp", "/var/tmp", "/dev/shm", "-xdev", "-uid", String(user.uid), "-delete"],
        {
          timeout: 60_000,
        },
      );
    } catch {
      // A directory that does not exist, or a file that vanished meanwhile: the rest went.
    }
    await withLockRetry("userdel", [user.name]);
  });
}

/** The sandbox user called `name` if it exists (one made before the launcher recorded it). */
export async function existingSandboxUser(name: string): Promise<SandboxUser | undefined> {
  try {
    const uid = Number((await run("id", ["-u", name])).stdout.trim());
    const gid = Number((await run("id", ["-g", name])).stdout.trim());
    return { name, uid, gid };
  } catch {
    return undefined;
  }
}
