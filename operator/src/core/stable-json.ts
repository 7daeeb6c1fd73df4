/** JSON with sorted keys and undefined dropped, optionally filtering keys (for comparisons). */
export function stableStringify(
  value: unknown,
  keep: (key: string) => boolean = () => true,
): string {
  return JSON.stringify(value, (key, v) => {
    if (key !== "" && !keep(key)) return undefined;
    return v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k, x]) => x !== undefined && keep(k))
            .sort(([a], [b]) => a.localeCompare(b)),
        )
      : v;
  });
}
