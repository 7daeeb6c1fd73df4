import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ARCHIVE_SECRET_KEYS } from "./constants.js";
import { restoreWork, saveWork } from "./transfer.js";

export interface KeeperOptions {
  /** The work folder (the notebook's work volume). */
  dir: string;
  /** The mounted archive Secret (files put-url, get-url). */
  urlsDir: string;
  /** Written once a restore is done, so a restarted container does not restore again. */
  marker: string;
  /** How often to look for the Secret's files (a warm-pool sandbox gets them when claimed). */
  pollMs: number;
  log: (message: string) => void;
}

async function readUrl(dir: string, key: string): Promise<string | undefined> {
  try {
    const url = (await readFile(join(dir, key), "utf8")).trim();
    return url === "" ? undefined : url;
  } catch {
    return undefined;
  }
}

/**
 * The archive container: restores the owner's archive into the work folder once its GET
 * URL appears (at start, or when a warm-pool sandbox is claimed), and saves the folder to
 * the PUT URL when told to stop (SIGTERM when the sandbox is deleted). Resolves with the
 * exit code once the save is done.
 */
export async function keepWork(options: KeeperOptions, stop: Promise<void>): Promise<number> {
  let stopping = false;
  // The last PUT URL seen: when the sandbox's namespace is deleted its Secret goes too, and
  // the kubelet may empty the (optional) volume before this container is stopped.
  let knownPutUrl: string | undefined;
  let restored = await access(options.marker).then(
    () => true,
    () => false,
  );
  const watching = (async () => {
    while (!stopping) {
      const getUrl = await readUrl(options.urlsDir, ARCHIVE_SECRET_KEYS.getUrl);
      const putUrl = await readUrl(options.urlsDir, ARCHIVE_SECRET_KEYS.putUrl);
      if (putUrl) knownPutUrl = putUrl;
      if (!restored && getUrl) {
        try {
          const result = await restoreWork(options.dir, getUrl);
          options.log(
            result
              ? `Restored archived work: ${result.files} files, ${result.bytes} bytes`
              : "No archived work to restore",
          );
        } catch (error) {
          options.log(`Could not restore the archived work: ${(error as Error).message}`);
        }
        restored = true;
        await writeFile(options.marker, new Date().toISOString());
      } else if (!restored && putUrl) {
        // Owned, and nothing to restore.
        restored = true;
        await writeFile(options.marker, new Date().toISOString());
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs).unref());
    }
  })();
  await stop;
  stopping = true;
  await watching.catch(() => undefined);
  const putUrl = (await readUrl(options.urlsDir, ARCHIVE_SECRET_KEYS.putUrl)) ?? knownPutUrl;
  if (!putUrl) {
    options.log("Not archiving: this sandbox has no archive URL (unclaimed, or archives are off)");
    return 0;
  }
  try {
    const saved = await saveWork(options.dir, putUrl);
    options.log(`Archived work: ${saved.files} files, ${saved.bytes} bytes`);
    return 0;
  } catch (error) {
    options.log(`Could not archive the work: ${(error as Error).message}`);
    return 1;
  }
}
