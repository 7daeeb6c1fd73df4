import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { archiveKey, type S3Store, unzipInto } from "@launchbay/archive";
import type { FastifyBaseLogger } from "fastify";
import type { ArchivedWork } from "../backend.js";
import { listArchivedFiles } from "../local/work-archive.js";

export interface S3WorkArchiveOptions {
  store: S3Store;
  /** The Workshop's namespace and name (the archive keys' folder). */
  namespace: string;
  workshop: string;
  /** The Workshop's archiveRetentionDays, in ms; 0: none kept. */
  retentionMs: number;
  /** Where archives are downloaded and unpacked (a cache the launcher owns). */
  cacheDir: string;
  log: FastifyBaseLogger;
  now?: () => number;
}

/**
 * The launcher's read side of the Kubernetes work archive: the operator's sandboxes PUT
 * each attendee's work to `<prefix><namespace>/<workshop>/<sha256(owner)>.zip`; this finds
 * the caller's, downloads and unpacks it (links and paths that leave the folder refused)
 * into a cache keyed by the object's date, so "Download my saved work" streams files as
 * the local backend's archive does.
 */
export class S3WorkArchive {
  private readonly now: () => number;
  private readonly pending = new Map<string, Promise<ArchivedWork | undefined>>();

  constructor(private readonly options: S3WorkArchiveOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The owner's archived work within the retention; undefined when none is kept. */
  find(owner: string): Promise<ArchivedWork | undefined> {
    if (owner === "" || this.options.retentionMs <= 0) return Promise.resolve(undefined);
    const running = this.pending.get(owner);
    if (running) return running;
    const next = this.load(owner).finally(() => this.pending.delete(owner));
    this.pending.set(owner, next);
    return next;
  }

  private async load(owner: string): Promise<ArchivedWork | undefined> {
    const { store, namespace, workshop, retentionMs, cacheDir } = this.options;
    const key = archiveKey(store.prefix, { namespace, workshop }, owner);
    const object = await store.head(key);
    if (!object) return undefined;
    const savedAt = object.lastModified.getTime();
    if (this.now() >= savedAt + retentionMs) return undefined;
    const name = key.slice(key.lastIndexOf("/") + 1, -".zip".length);
    const folder = join(cacheDir, `${name}-${savedAt}`);
    const root = join(folder, "work");
    if (!(await exists(join(folder, ".complete")))) {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
      // Older copies of this owner's archive go; the new one is unpacked beside, then renamed.
      for (const entry of await readdir(cacheDir)) {
        if (entry.startsWith(`${name}-`))
          await rm(join(cacheDir, entry), { recursive: true, force: true });
      }
      const fresh = `${folder}.new`;
      await mkdir(fresh, { recursive: true, mode: 0o700 });
      const zip = join(fresh, "work.zip");
      if (!(await store.download(key, zip))) return undefined;
      await unzipInto(zip, join(fresh, "work"));
      await rm(zip);
      await mkdir(join(fresh, ".complete"));
      await rename(fresh, folder);
      this.options.log.info({ archive: key }, "Downloaded archived work");
    }
    return {
      savedAt,
      keptUntil: savedAt + retentionMs,
      sandbox: "",
      files: await listArchivedFiles(root),
    };
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
