// Minimal typings for the parts of eslint-scope the free-variable analysis uses
// (the package ships none).
declare module "eslint-scope" {
  import type { Node } from "estree";

  export interface Reference {
    identifier: { name: string; start?: number };
    resolved: unknown;
  }
  export interface Scope {
    type: string;
    through: Reference[];
  }
  export interface ScopeManager {
    globalScope: Scope | null;
    scopes: Scope[];
  }
  export function analyze(
    ast: Node,
    options?: {
      ecmaVersion?: number;
      sourceType?: "script" | "module" | "commonjs";
      ignoreEval?: boolean;
    },
  ): ScopeManager;
}
