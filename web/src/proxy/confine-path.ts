/**
 * Confines a request target to a public prefix before it is proxied: the path must start
 * with `prefix` and, below it, may not step out or sideways in any spelling an upstream
 * might normalise (`..` or `.` segments, percent-encoded or not, `//`, backslashes,
 * encoded slashes, NUL). Returns the rest of the path below the prefix and the query
 * (both as sent, still encoded), or the reason for refusing.
 */
export function confinePath(
  url: string,
  prefix: string,
): { ok: true; rest: string; query: string } | { ok: false; reason: string } {
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q);
  if (!path.startsWith(prefix)) return { ok: false, reason: `the path is not under ${prefix}` };
  const rest = path.slice(prefix.length);
  if (rest.includes("\\")) return { ok: false, reason: "backslashes are not allowed in paths" };
  if (/%(2f|5c|00)/i.test(rest))
    return { ok: false, reason: "encoded slashes, backslashes or NUL are not allowed in paths" };
  if (rest.includes("//") || rest.startsWith("/"))
    return { ok: false, reason: "empty path segments (//) are not allowed" };
  for (const segment of rest.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return { ok: false, reason: "the path has a malformed percent-encoding" };
    }
    if (decoded === "." || decoded === "..")
      return { ok: false, reason: "dot segments (. and ..) are not allowed in paths" };
  }
  return { ok: true, rest, query };
}
