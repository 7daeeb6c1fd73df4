import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ZipFile } from "yazl";
import type { Upstream } from "../backend/backend.js";
import { contentsUrl, type DownloadLimits, type ListedFile, mib } from "./notebook-listing.js";

/** Files larger than this are stored, not deflated (large files are mostly data). */
const COMPRESS_UP_TO = 16 * 1024 * 1024;

/**
 * Streams the listed files from the notebook server (`/files/<path>`, raw bytes) into a
 * zip (yazl: data descriptors, ZIP64 when needed), one file at a time, so the launcher
 * holds only a few chunks at once. The byte limit is enforced again while streaming (a
 * file may have grown since it was listed): past it, or on any upstream failure, the
 * returned stream is destroyed with the error, so the response is cut off rather than
 * ending as a truncated zip that looks complete.
 */
export function zipNotebookFiles(
  upstream: Upstream,
  files: readonly ListedFile[],
  limits: DownloadLimits,
): Readable {
  const zip = new ZipFile();
  const out = zip.outputStream as unknown as Readable;
  let total = 0;
  const fail = (err: Error) => {
    if (!out.destroyed) out.destroy(err);
  };
  zip.on("error", fail);
  for (const file of files) {
    const options = {
      compress: file.size <= COMPRESS_UP_TO,
      ...(file.modifiedAt && !Number.isNaN(file.modifiedAt.getTime())
        ? { mtime: file.modifiedAt }
        : {}),
    };
    zip.addReadStreamLazy(file.path, options, (callback) => {
      if (out.destroyed) return;
      fetch(contentsUrl(upstream, "files", file.path), { headers: upstream.headers })
        .then((res) => {
          if (!res.ok || !res.body) {
            throw new Error(`the notebook server answered ${res.status} for ${file.path}`);
          }
          const body = Readable.fromWeb(res.body as unknown as WebReadableStream);
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, next: TransformCallback) {
              total += chunk.length;
              if (total > limits.maxBytes) {
                next(new Error(`the download passed ${mib(limits.maxBytes)} while streaming`));
                return;
              }
              next(null, chunk);
            },
          });
          body.on("error", (err) => counter.destroy(err));
          counter.on("error", (err) => {
            body.destroy();
            fail(err);
          });
          callback(null, body.pipe(counter));
        })
        .catch((err: Error) => fail(err));
    });
  }
  zip.end();
  return out;
}
