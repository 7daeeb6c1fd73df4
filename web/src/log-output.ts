import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export type LogFormat = "json" | "pretty";

/**
 * How the launcher logs: readable one-line messages when a person watches (stdout is a
 * terminal), JSON lines for files, pipes and log collectors; `--log-format` overrides.
 */
export function decideLogFormat(
  requested: "auto" | LogFormat,
  stdoutIsTerminal: boolean,
): LogFormat {
  if (requested !== "auto") return requested;
  return stdoutIsTerminal ? "pretty" : "json";
}

/**
 * The launcher's logger on stdout. On a terminal every line is written synchronously, so
 * the start-up log lines and the notice main.ts writes on stderr afterwards appear in that
 * order; JSON into a pipe or file is written asynchronously.
 */
export function createLauncherLogger(options: {
  level: string;
  format: LogFormat;
  /** stdout is a terminal. */
  terminal: boolean;
  /** Where pretty output goes (default stdout). */
  destination?: number;
}): Logger {
  if (options.format === "json") {
    return pino(
      { level: options.level },
      pino.destination({ dest: options.destination ?? 1, sync: options.terminal }),
    );
  }
  return pino(
    { level: options.level },
    pretty({
      sync: true,
      destination: options.destination ?? 1,
      singleLine: true,
      translateTime: "SYS:HH:MM:ss",
      ignore: "pid,hostname",
    }),
  );
}
