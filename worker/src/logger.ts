/** The worker's JSON logs (pino) go to stderr: stdout carries only the data address. */
import pino, { type Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, name?: string): Logger {
  return pino(
    { name: "launchbay-worker", level, base: name ? { worker: name } : {} },
    pino.destination({ dest: 2, sync: true }),
  );
}
