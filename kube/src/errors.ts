/** Stable error codes of @launchbay/kube; each is documented in kube/README.md. */
export const KUBE_ERROR_CODES = [
  "kubeconfig",
  "kube-api",
  "kube-timeout",
  "watch-expired",
  "terminal",
] as const;
export type KubeErrorCode = (typeof KUBE_ERROR_CODES)[number];

export class KubeError extends Error {
  readonly code: KubeErrorCode;
  constructor(code: KubeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeError";
    this.code = code;
  }
}

/** A failed Kubernetes API request, with the status and Status reason the server answered. */
export class KubeApiError extends KubeError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
    readonly serverMessage: string,
  ) {
    super(
      status === 410 ? "watch-expired" : "kube-api",
      `${method} ${path} answered ${status} ${reason}: ${serverMessage}`,
    );
    this.name = "KubeApiError";
  }
}

/**
 * An error retrying cannot fix (an invalid object, a spec the API server refuses): the work
 * queue records it and does not retry the key until it is added again (the object changed).
 * Like controller-runtime's reconcile.TerminalError.
 */
export class TerminalError extends KubeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("terminal", message, options);
    this.name = "TerminalError";
  }
}

/** The HTTP status of a failed API request, or undefined for any other error. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof KubeApiError ? error.status : undefined;
}

const hasStatus = (status: number) => (error: unknown) => statusOf(error) === status;

/** 404: the object (or its namespace) does not exist. */
export const isNotFound = hasStatus(404);
/** 409: someone changed the object first (or it already exists): read again and retry. */
export const isConflict = hasStatus(409);
/** 409 AlreadyExists on a create. */
export const isAlreadyExists = (error: unknown) =>
  isConflict(error) && (error as KubeApiError).reason === "AlreadyExists";
/** 403: RBAC or an admission policy refused the request. */
export const isForbidden = hasStatus(403);
/** 401: the credentials were refused. */
export const isUnauthorized = hasStatus(401);
/** 410: the resourceVersion a watch or list continued from has expired: relist. */
export const isGone = hasStatus(410);
/** 422: the API server's validation refused the object. */
export const isInvalid = hasStatus(422);
/** 429: the API server's priority and fairness throttled the request. */
export const isTooManyRequests = hasStatus(429);

/**
 * A request the API server refused for the request itself (4xx other than conflict and
 * throttling): resending it unchanged will fail the same way.
 */
export function isRefused(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
}

export function isTerminal(error: unknown): error is TerminalError {
  return error instanceof TerminalError;
}

/** Runs fn; answers undefined instead of throwing for 404 (controller-runtime's IgnoreNotFound). */
export async function ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
