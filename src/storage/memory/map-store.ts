import { compareCodePoints } from "../code-point-order.js";
import type { Json, MapStore } from "../types.js";
import type { Scope } from "./scopes.js";

export function memoryMapStore(scope: Scope<Map<string, string>>): MapStore {
  return {
    async get(user, key) {
      const text = scope.users.get(user)?.get(key);
      return text === undefined ? undefined : (JSON.parse(text) as Json);
    },
    async set(user, key, value) {
      let entries = scope.users.get(user);
      if (!entries) {
        entries = new Map();
        scope.users.set(user, entries);
      }
      entries.set(key, JSON.stringify(value));
    },
    async delete(user, key) {
      const entries = scope.users.get(user);
      if (!entries) return;
      entries.delete(key);
      if (entries.size === 0) scope.users.delete(user);
    },
    async getAll(user) {
      const entries = scope.users.get(user);
      const keys = entries ? [...entries.keys()].sort(compareCodePoints) : [];
      return new Map(keys.map((key) => [key, JSON.parse(entries?.get(key) as string) as Json]));
    },
    async count(user) {
      return scope.users.get(user)?.size ?? 0;
    },
    async deleteAll(user) {
      scope.users.delete(user);
    },
  };
}
