import { type Logger, pino } from "pino";

export type { Logger };

/** JSON logs on stdout (pino), level from options. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: "operator" } });
}
