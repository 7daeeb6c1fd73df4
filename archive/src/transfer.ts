import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArchiveError } from "./errors.js";
import { type UnzipLimits, unzipInto, zipDirectory } from "./work-zip.js";

/**
 * Zips `dir` into a temporary file (S3 wants a Content-Length on PUT) and PUTs it to a
 * presigned URL. Resolves with the number of files and bytes sent.
 */
export async function saveWork(
  dir: string,
  putUrl: string,
  options: { tmp?: string } = {},
): Promise<{ files: number; bytes: number }> {
  const scratch = await mkdtemp(join(options.tmp ?? tmpdir(), "launchbay-archive-"));
  try {
    const file = join(scratch, "work.zip");
    const { stream, files } = await zipDirectory(dir);
    await pipeline(stream, createWriteStream(file, { mode: 0o600 }));
    const { size } = await stat(file);
    const response = await fetch(putUrl, {
      method: "PUT",
      headers: { "content-length": String(size), "content-type": "application/zip" },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    if (!response.ok) {
      throw new ArchiveError(
        "transfer-failed",
        `the archive upload answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
      );
    }
    await response.body?.cancel();
    return { files, bytes: size };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * GETs the zip at a presigned URL and unpacks it into `dir` (over what is there), refusing
 * links and paths that leave `dir`. Resolves false when there is no archive (404).
 */
export async function restoreWork(
  dir: string,
  getUrl: string,
  options: { tmp?: string; limits?: UnzipLimits } = {},
): Promise<false | { files: number; bytes: number }> {
  const response = await fetch(getUrl);
  if (response.status === 404) {
    await response.body?.cancel();
    return false;
  }
  if (!response.ok || !response.body) {
    throw new ArchiveError(
      "transfer-failed",
      `the archive download answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
    );
  }
  const scratch = await mkdtemp(join(options.tmp ?? tmpdir(), "launchbay-archive-"));
  try {
    const file = join(scratch, "work.zip");
    await writeFile(file, Readable.fromWeb(response.body as never), { mode: 0o600 });
    return await unzipInto(file, dir, options.limits);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
