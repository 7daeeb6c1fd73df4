/** Stable codes of the archive's errors (documented in archive/README.md). */
export const ARCHIVE_ERROR_CODES = [
  "unsafe-entry",
  "too-large",
  "bad-zip",
  "transfer-failed",
] as const;
export type ArchiveErrorCode = (typeof ARCHIVE_ERROR_CODES)[number];

export class ArchiveError extends Error {
  constructor(
    readonly code: ArchiveErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ArchiveError";
  }
}
