/** Stable error codes of the operator; each is documented in operator/README.md. */
export const OPERATOR_ERROR_CODES = ["invalid-options", "leadership-lost"] as const;
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];

export class OperatorError extends Error {
  readonly code: OperatorErrorCode;
  constructor(code: OperatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OperatorError";
    this.code = code;
  }
}
