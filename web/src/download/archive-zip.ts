import type { Readable } from "node:stream";
import { ZipFile } from "yazl";
import type { ArchivedFile } from "../backend/backend.js";
import { LauncherError } from "../errors.js";
import { type DownloadLimits, mib } from "./notebook-listing.js";

/** Files larger than this are stored, not deflated (large files are mostly data). */
const COMPRESS_UP_TO = 16 * 1024 * 1024;

/**
 * Streams archived work (files on the launcher's disk) into a zip with yazl, one file at
 * a time. Refused before anything is sent when it is over the download limits.
 */
export function zipArchivedFiles(files: readonly ArchivedFile[], limits: DownloadLimits): Readable {
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  if (files.length > limits.maxFiles || bytes > limits.maxBytes) {
    throw new LauncherError(
      "download-too-large",
      `your saved work is too large to download in one zip (more than ${files.length > limits.maxFiles ? `${limits.maxFiles} files` : mib(limits.maxBytes)}); ask the organiser for a copy`,
    );
  }
  const zip = new ZipFile();
  for (const file of files) {
    zip.addFile(file.file, file.path, {
      compress: file.size <= COMPRESS_UP_TO,
      mtime: file.modifiedAt,
    });
  }
  zip.end();
  return zip.outputStream as unknown as Readable;
}
