export { ARCHIVE_SECRET_KEYS, ARCHIVE_SECRET_NAME, ARCHIVE_URLS_DIR } from "./constants.js";
export { ARCHIVE_ERROR_CODES, ArchiveError, type ArchiveErrorCode } from "./errors.js";
export { keepWork, type KeeperOptions } from "./keeper.js";
export { archiveKey, workshopPrefix } from "./object-key.js";
export {
  MAX_PRESIGN_SECONDS,
  S3Store,
  type S3StoreOptions,
  type StoredArchive,
} from "./s3-store.js";
export { sweepArchives, type RetentionLookup } from "./retention.js";
export { restoreWork, saveWork } from "./transfer.js";
export {
  DEFAULT_UNZIP_LIMITS,
  entryTarget,
  type UnzipLimits,
  unzipInto,
  zipDirectory,
} from "./work-zip.js";
