import { createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import { ZipFile } from "yazl";
import { ArchiveError } from "./errors.js";

/** Limits on what a restore unpacks (a zip is attendee-controlled input). */
export interface UnzipLimits {
  maxFiles: number;
  maxBytes: number;
}

export const DEFAULT_UNZIP_LIMITS: UnzipLimits = { maxFiles: 20_000, maxBytes: 2 * 1024 ** 3 };

/** Files larger than this are stored, not deflated (large files are mostly data). */
const COMPRESS_UP_TO = 16 * 1024 * 1024;

/**
 * Zips the regular files and folders under `dir` (paths relative to it, `/`-separated).
 * Symlinks, sockets and devices are left out: a restore never creates a link.
 */
export async function zipDirectory(dir: string): Promise<{ stream: Readable; files: number }> {
  const zip = new ZipFile();
  let files = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const name = relative(dir, path).split(sep).join("/");
      if (entry.isDirectory()) {
        zip.addEmptyDirectory(name);
        await walk(path);
      } else if (entry.isFile()) {
        const s = await lstat(path);
        zip.addFile(path, name, { compress: s.size <= COMPRESS_UP_TO, mtime: s.mtime });
        files += 1;
      }
    }
  };
  await walk(dir);
  zip.end();
  return { stream: zip.outputStream as unknown as Readable, files };
}

/**
 * Where a zip entry lands under `dir`, or an error naming it: absolute paths, `..`
 * segments, backslashes and NUL are refused (path traversal).
 */
export function entryTarget(dir: string, name: string): string {
  const bad =
    name === "" ||
    name.includes("\0") ||
    name.includes("\\") ||
    isAbsolute(name) ||
    /^[A-Za-z]:/.test(name) ||
    name.split("/").some((part) => part === "..");
  const target = resolve(dir, name);
  if (bad || (target !== resolve(dir) && !target.startsWith(resolve(dir) + sep))) {
    throw new ArchiveError(
      "unsafe-entry",
      `refused zip entry "${name}": it points outside the work folder`,
    );
  }
  return target;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * Unpacks a zip file into `dir` (over what is there). Refused before anything is written:
 * symlink entries, entries that escape `dir`, and zips over the limits. Files land as
 * regular files (mode 0644/0755 from the zip's executable bit only), and a path whose
 * parent on disk is a symlink is refused too.
 */
export async function unzipInto(
  zipFile: string,
  dir: string,
  limits: UnzipLimits = DEFAULT_UNZIP_LIMITS,
): Promise<{ files: number; bytes: number }> {
  const zip = await openZip(zipFile);
  try {
    const entries = await readEntries(zip);
    let bytes = 0;
    let files = 0;
    for (const entry of entries) {
      entryTarget(dir, entry.fileName);
      const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
      if ((mode & S_IFMT) === S_IFLNK) {
        throw new ArchiveError(
          "unsafe-entry",
          `refused zip entry "${entry.fileName}": it is a symbolic link`,
        );
      }
      if (!entry.fileName.endsWith("/")) {
        files += 1;
        bytes += entry.uncompressedSize;
      }
    }
    if (files > limits.maxFiles || bytes > limits.maxBytes) {
      throw new ArchiveError(
        "too-large",
        `refused the archive: ${files} files, ${bytes} bytes (at most ${limits.maxFiles} files, ${limits.maxBytes} bytes)`,
      );
    }
    await mkdir(dir, { recursive: true });
    const root = await realpath(dir);
    for (const entry of entries) {
      const target = entryTarget(root, entry.fileName);
      if (entry.fileName.endsWith("/")) {
        await mkdir(target, { recursive: true });
        await refuseLinkedParent(root, target);
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      await refuseLinkedParent(root, dirname(target));
      const existing = await lstat(target).catch(() => undefined);
      if (existing && !existing.isFile()) {
        throw new ArchiveError(
          "unsafe-entry",
          `refused zip entry "${entry.fileName}": something other than a file is in its place`,
        );
      }
      const mode = (entry.externalFileAttributes >>> 16) & 0o111 ? 0o755 : 0o644;
      const stream = await openEntry(zip, entry);
      // "w" replaces the file's contents; a symlink in the target's place was refused above.
      await pipeline(stream, createWriteStream(target, { mode, flags: "w" }));
    }
    return { files, bytes };
  } finally {
    zip.close();
  }
}

/** The real path of `folder` must still be under `root` (no symlinked parent). */
async function refuseLinkedParent(root: string, folder: string): Promise<void> {
  const real = await realpath(folder);
  if (real !== root && !real.startsWith(root + sep)) {
    throw new ArchiveError(
      "unsafe-entry",
      `refused to write into ${relative(root, folder)}: it leads outside the work folder`,
    );
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolvePromise, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: true }, (err, zip) =>
      err || !zip
        ? reject(new ArchiveError("bad-zip", `not a readable zip: ${err?.message}`, { cause: err }))
        : resolvePromise(zip),
    );
  });
}

function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolvePromise, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on("end", () => resolvePromise(entries));
    zip.on("error", (err: Error) =>
      reject(new ArchiveError("bad-zip", `not a readable zip: ${err.message}`, { cause: err })),
    );
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolvePromise, reject) => {
    zip.openReadStream(entry, (err, stream) =>
      err || !stream ? reject(err ?? new Error("no stream")) : resolvePromise(stream),
    );
  });
}
