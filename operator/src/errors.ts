/** Stable error codes of the operator; each is documented in operator/README.md. */
export const OPERATOR_ERROR_CODES = [
  "invalid-options",
  "kubeconfig",
  "kube-api",
  "kube-conflict",
  "watch-expired",
  "leadership-lost",
] as const;
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];

export class OperatorError extends Error {
  readonly code: OperatorErrorCode;
  constructor(code: OperatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OperatorError";
    this.code = code;
  }
}

/** A failed Kubernetes API request, with the status the server answered. */
export class KubeApiError extends OperatorError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
    serverMessage: string,
  ) {
    super(
      status === 409 ? "kube-conflict" : status === 410 ? "watch-expired" : "kube-api",
      `${method} ${path} answered ${status} ${reason}: ${serverMessage}`,
    );
  }
}

export function isStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof KubeApiError && statuses.includes(error.status);
}
