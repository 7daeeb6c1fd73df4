import { createHash } from "node:crypto";

/**
 * The object key of one attendee's archive in one workshop:
 * `<prefix><namespace>/<workshop>/<sha256(owner)>.zip`. The owner id itself never appears
 * in a key or URL, and a presigned URL names exactly one key, so an attendee holding
 * theirs can neither write nor derive another attendee's.
 */
export function archiveKey(
  prefix: string,
  where: { namespace: string; workshop: string },
  owner: string,
): string {
  const hash = createHash("sha256").update(owner).digest("hex");
  return `${workshopPrefix(prefix, where)}${hash}.zip`;
}

/** The folder of one workshop's archives (what the retention sweep lists). */
export function workshopPrefix(
  prefix: string,
  where: { namespace: string; workshop: string },
): string {
  return `${prefix}${where.namespace}/${where.workshop}/`;
}
