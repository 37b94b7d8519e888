import { compareCodePoints } from "../code-point-order.js";
import type { Json, KeyValueStore } from "../types.js";
import type { Scope } from "./scopes.js";

export function memoryKeyValueStore(scope: Scope<string>): KeyValueStore {
  return {
    async get(user) {
      const text = scope.users.get(user);
      return text === undefined ? undefined : (JSON.parse(text) as Json);
    },
    async set(user, value) {
      scope.users.set(user, JSON.stringify(value));
    },
    async delete(user) {
      scope.users.delete(user);
    },
    async users() {
      return [...scope.users.keys()].sort(compareCodePoints);
    },
  };
}
