/**
 * Errors the collections (Bag, Table, Scalar) throw on the client before any task runs,
 * each with a stable `code` (documented in client/docs/collections.md, checked by a test)
 * and a message that says what to do next. Two codes come from inside tasks: a sort,
 * min/max, topK or group order met values with no order between them
 * ("unorderable-values"), or a group/distinct key with no equality by value
 * ("unhashable-key"); the task's RemoteTaskError is the `cause`. Other errors from the runtime itself (a task that
 * threw, a free variable in a user function) keep their client error classes
 * (`RemoteTaskError`, `FreeVariableError`).
 */
export const COLLECTION_ERROR_CODES = [
  "invalid-argument",
  "invalid-npartitions",
  "client-closed",
  "different-clients",
  "empty-collection",
  "unknown-column",
  "invalid-aggregation",
  "no-index",
  "unorderable-values",
  "unhashable-key",
  "read-failed",
] as const;
export type CollectionErrorCode = (typeof COLLECTION_ERROR_CODES)[number];

export class CollectionError extends Error {
  override name = "CollectionError";
  constructor(
    readonly code: CollectionErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
