/** Go-style durations as Kubernetes users write them: `2h`, `90m`, `1h30m`, `45s`. */
export const DURATION_PATTERN = "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$";
const durationRegex = new RegExp(DURATION_PATTERN);

/** Parses `1h30m` into milliseconds; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  const match = durationRegex.exec(text);
  if (!match) return undefined;
  const [, h, m, s] = match;
  const hours = h ? Number.parseInt(h, 10) : 0;
  const minutes = m ? Number.parseInt(m, 10) : 0;
  const seconds = s ? Number.parseInt(s, 10) : 0;
  return ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

/** Formats milliseconds as the shortest Go-style duration (`5400000` → `1h30m`). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
  return parts === "" ? "0s" : parts;
}
