/**
 * The layout of every launchbay CLI's `--help`, one line per flag:
 *
 *   --flag VALUE   meaning (default X) [env Y]
 *
 * the layout `launchbay-scheduler --help` introduced. Shared by `launchbay-operator` and
 * the launcher (`@launchbay/operator/cli-help`); each builds its rows from its own zod
 * option schema, so a default shown is the default applied.
 */

/** One flag as `--help` shows it. */
export interface FlagHelp {
  /** `--port` */
  flag: string;
  /** The placeholder after the flag (`PORT`, `VALUE`). */
  value: string;
  env: string;
  /** What the flag does. */
  meaning: string;
  /** The default as text (`8080`, `none: in-cluster config`). */
  default: string;
}

/** A parsed default as help text: `a=b,c=d` for label maps, comma-joined lists, `none` for empty. */
export function defaultText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.map(String).join(",");
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k}=${String(v)}`).join(",");
  }
  if (value === "") return '""';
  return String(value);
}

/** `--max-sandboxes` from `maxSandboxes` or `MAX_SANDBOXES`. */
export function kebabFlag(name: string): string {
  const kebab = /^[A-Z0-9_]+$/.test(name)
    ? name.toLowerCase().replaceAll("_", "-")
    : name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return `--${kebab}`;
}

/** The rows, aligned, plus `--help` itself. */
export function formatFlagHelp(rows: readonly FlagHelp[]): string[] {
  const lefts = rows.map((row) => `  ${row.flag} ${row.value}`);
  const width = Math.max("  --help".length, ...lefts.map((left) => left.length)) + 2;
  return [
    ...rows.map(
      (row, i) =>
        `${lefts[i]!.padEnd(width)}${row.meaning} (default ${row.default}) [env ${row.env}]`,
    ),
    `${"  --help".padEnd(width)}show this help`,
  ];
}
