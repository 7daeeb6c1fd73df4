/** The part of a pino logger the machinery uses (pino's Logger satisfies it). */
export interface KubeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
