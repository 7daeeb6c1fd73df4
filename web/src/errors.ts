/** Every error the launcher reports has one of these stable codes (documented in web/README.md). */
export const ERROR_CODES = {
  "invalid-request": 400,
  "invalid-config": 500,
  "no-identity": 401,
  unauthorized: 401,
  forbidden: 403,
  "access-code-required": 403,
  "access-code-invalid": 403,
  "csrf-rejected": 403,
  "handover-refused": 403,
  "path-not-allowed": 400,
  "host-not-allowed": 421,
  "not-found": 404,
  "method-not-allowed": 405,
  "workshop-full": 409,
  "extend-limit": 409,
  "sandbox-not-ready": 409,
  "download-too-large": 413,
  "rate-limited": 429,
  "backend-failed": 502,
  "upstream-unavailable": 502,
  "shutting-down": 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable `code`, a message saying what to do next, and an HTTP status. */
export class LauncherError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields sent with the JSON error body (e.g. `retryAfterSeconds`). */
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "LauncherError";
    this.code = code;
    this.status = ERROR_CODES[code];
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export function isLauncherError(value: unknown): value is LauncherError {
  return value instanceof LauncherError;
}
