import { createHash } from "node:crypto";
import {
  chmod,
  cp,
  lchown,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { FastifyBaseLogger } from "fastify";

export interface WorkArchiveOptions {
  /** `<archives>/`: one folder per attendee below it, 0700, the launcher's own. */
  dir: string;
  /** How long an archive is kept (and restored); 0 keeps none. */
  retentionMs: number;
  log: FastifyBaseLogger;
  now?: () => number;
}

/** One archived file, for the zip. */
export interface ArchivedFile {
  /** Path inside the work directory, `/`-separated. */
  path: string;
  /** Where it is on disk. */
  file: string;
  size: number;
  modifiedAt: Date;
}

export interface ArchivedWork {
  savedAt: number;
  /** Until when it is kept. */
  keptUntil: number;
  sandbox: string;
  files: ArchivedFile[];
}

interface Meta {
  savedAt: number;
  sandbox: string;
}

/**
 * An attendee's work kept after their sandbox is gone: at expiry, Expire, failure and
 * launcher shutdown the work directory is copied here before anything is deleted, keyed
 * by a hash of the owner id (no attendee id appears on disk). The same attendee can
 * download it and gets it copied into their next sandbox, until the retention ends.
 * Only regular files, directories and symlinks (as links, never followed) are copied; the
 * copy belongs to the launcher's user, without set-uid, set-gid or sticky bits.
 */
export class WorkArchive {
  private readonly now: () => number;
  /** Saves and restores of one owner run one after another. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly options: WorkArchiveOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.retentionMs > 0;
  }

  private folderFor(owner: string): string {
    const key = createHash("sha256").update(owner).digest("hex").slice(0, 32);
    return join(this.options.dir, key);
  }

  private serial<T>(owner: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(owner) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.chains.set(owner, settled);
    void settled.then(() => {
      if (this.chains.get(owner) === settled) this.chains.delete(owner);
    });
    return next;
  }

  /**
   * Copies `workDir` into the owner's archive, replacing an older one only once the new
   * copy is complete. Throws when it cannot: the caller must then keep the work directory.
   */
  save(owner: string, workDir: string, sandbox: string): Promise<boolean> {
    if (!this.enabled || owner === "") return Promise.resolve(false);
    return this.serial(owner, async () => {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      await chmod(this.options.dir, 0o700);
      const folder = this.folderFor(owner);
      const fresh = `${folder}.new`;
      await rm(fresh, { recursive: true, force: true });
      await mkdir(fresh, { mode: 0o700 });
      await cp(workDir, join(fresh, "work"), {
        recursive: true,
        verbatimSymlinks: true,
        filter: async (src) => {
          const s = await lstat(src);
          return s.isFile() || s.isDirectory() || s.isSymbolicLink();
        },
      });
      // The copy is the launcher's. Node 24's libuv (1.51; libuv/libuv#4396) makes copyFile,
      // and so fs.cp, give every copy its source's owner when run as root: the archived
      // files would belong to the sandbox user, and removing that user (which deletes the
      // user's files under /tmp, where an archive folder may live) or a later sandbox
      // user with the same uid would reach them. Set-uid, set-gid and sticky bits are
      // dropped too, so that no restore can ever place a set-uid file in a sandbox.
      await claimTree(join(fresh, "work"), launcherOwner());
      const meta: Meta = { savedAt: this.now(), sandbox };
      await writeFile(join(fresh, "meta.json"), `${JSON.stringify(meta)}\n`, { mode: 0o600 });
      const old = `${folder}.old`;
      await rm(old, { recursive: true, force: true });
      await rename(folder, old).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      await rename(fresh, folder);
      await rm(old, { recursive: true, force: true });
      this.options.log.info({ sandbox, archive: folder }, "Archived work");
      return true;
    });
  }

  private async readMeta(folder: string): Promise<Meta | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(folder, "meta.json"), "utf8")) as Meta;
      return typeof meta.savedAt === "number" ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  private live(meta: Meta | undefined): meta is Meta {
    return meta !== undefined && this.now() < meta.savedAt + this.options.retentionMs;
  }

  /**
   * Copies the owner's archived work into `workDir` (over the tutorial copies), owned by
   * `chownTo` when given (then without set-uid, set-gid or sticky bits, as archived). Resolves false when there is nothing (or nothing recent enough).
   */
  restore(
    owner: string,
    workDir: string,
    chownTo?: { uid: number; gid: number },
  ): Promise<boolean> {
    if (!this.enabled || owner === "") return Promise.resolve(false);
    return this.serial(owner, async () => {
      const folder = this.folderFor(owner);
      if (!this.live(await this.readMeta(folder))) return false;
      await cp(join(folder, "work"), workDir, {
        recursive: true,
        verbatimSymlinks: true,
        force: true,
      });
      if (chownTo) await claimTree(workDir, chownTo);
      this.options.log.info({ archive: folder, workDir }, "Restored archived work");
      return true;
    });
  }

  /** The owner's archived work (hidden files and node_modules left out), if kept. */
  async find(owner: string): Promise<ArchivedWork | undefined> {
    if (!this.enabled || owner === "") return undefined;
    const folder = this.folderFor(owner);
    const meta = await this.readMeta(folder);
    if (!this.live(meta)) return undefined;
    const root = join(folder, "work");
    const files = await listArchivedFiles(root);
    return {
      savedAt: meta.savedAt,
      keptUntil: meta.savedAt + this.options.retentionMs,
      sandbox: meta.sandbox,
      files,
    };
  }

  /** Deletes every archive past its retention (all of them when retention is 0). */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const folder = join(this.options.dir, name);
      if (/\.(new|old)$/.test(name) && !this.chains.size) {
        await rm(folder, { recursive: true, force: true });
        continue;
      }
      if (/\./.test(name)) continue;
      if (this.live(await this.readMeta(folder))) continue;
      await rm(folder, { recursive: true, force: true });
      removed += 1;
    }
    if (removed > 0) this.options.log.info({ removed }, "Deleted archives past their retention");
    return removed;
  }
}

/** The launcher's own uid and gid, where files have owners (POSIX). */
function launcherOwner(): { uid: number; gid: number } | undefined {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** Gives the tree to `owner` (when given) and clears set-uid, set-gid and sticky bits. */
async function claimTree(dir: string, owner?: { uid: number; gid: number }): Promise<void> {
  const visit = async (path: string): Promise<void> => {
    if (owner) await lchown(path, owner.uid, owner.gid);
    const s = await lstat(path);
    if (s.isSymbolicLink()) return;
    if (s.mode & 0o7000) await chmod(path, s.mode & 0o777);
    if (s.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
}

/** Regular files under root (hidden files and node_modules left out); none when root is absent. */
export async function listArchivedFiles(root: string): Promise<ArchivedFile[]> {
  const files: ArchivedFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const file = join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.isFile()) {
        const s = await lstat(file);
        files.push({
          path: relative(root, file).split(sep).join("/"),
          file,
          size: s.size,
          modifiedAt: s.mtime,
        });
      }
    }
  };
  await walk(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  return files;
}
