/** The per-sandbox Secret the operator writes once the sandbox has an owner. */
export const ARCHIVE_SECRET_NAME = "sandbox-archive";
export const ARCHIVE_SECRET_KEYS = {
  /** Presigned PUT of the owner's archive object (always, while archives are on). */
  putUrl: "put-url",
  /** Presigned GET of it, only when one was kept within the workshop's retention. */
  getUrl: "get-url",
} as const;
/** Where the archive container finds that Secret's files. */
export const ARCHIVE_URLS_DIR = "/var/run/launchbay/archive";
