import type { S3Store } from "./s3-store.js";

/**
 * The retention of the workshop an archive key belongs to (`<prefix><namespace>/<workshop>/…`),
 * in ms. For a workshop that no longer exists (or is not known yet), the default retention:
 * its archives still go in the end, and a sweep that runs before the workshops are listed
 * deletes nothing early.
 */
export type RetentionLookup = (namespace: string, workshop: string) => number;

/**
 * Deletes every archive under the store's prefix that is older than its workshop's
 * retention (all of a workshop's when its retention is 0). Resolves with the keys deleted.
 */
export async function sweepArchives(
  store: S3Store,
  retentionOf: RetentionLookup,
  now: number,
): Promise<string[]> {
  const expired: string[] = [];
  for (const object of await store.list(store.prefix)) {
    const parts = object.key.slice(store.prefix.length).split("/");
    if (parts.length !== 3) continue;
    const [namespace, workshop] = parts as [string, string, string];
    const retention = retentionOf(namespace, workshop);
    if (now >= object.lastModified.getTime() + retention) {
      expired.push(object.key);
    }
  }
  if (expired.length) await store.remove(expired);
  return expired;
}
