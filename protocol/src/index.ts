export * from "./auth.js";
export * from "./browser-guard.js";
export * from "./connection.js";
export * from "./frame.js";
export * from "./messages.js";
export * from "./values.js";
export * from "./bulk-transfer.js";
export * from "./data-client.js";
