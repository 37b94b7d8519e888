// Each module validates its own `modules.<name>` options with its own schema, after the core config has
// loaded; the errors still point into natter.yaml.

import type { ZodType } from "zod";
import { ConfigError } from "./config-error.js";
import { sourceOf } from "./config-source.js";
import { friendlyMessage, issuesToProblems } from "./issues.js";
import { DEFAULTS_NAME } from "./load.js";
import type { Config } from "./schema.js";

/**
 * Validates `modules.<moduleName>` against the module's schema. An absent entry, an empty one (`muc:`) or
 * `true` means the module's defaults, i.e. the schema applied to `{}`; callers skip modules set to `false`.
 */
export function validateModuleOptions<T>(config: Config, moduleName: string, schema: ZodType<T>): T {
  const raw = config.modules[moduleName];
  const input = raw === undefined || raw === null || typeof raw === "boolean" ? {} : raw;
  const result = schema.safeParse(input, { error: friendlyMessage });
  if (result.success) return result.data;
  const source = sourceOf(config);
  const defaults = schema.safeParse({});
  throw new ConfigError(
    issuesToProblems(
      result.error.issues,
      source?.fileName ?? DEFAULTS_NAME,
      source,
      ["modules", moduleName],
      defaults.success ? defaults.data : undefined,
    ),
  );
}

/** True unless the config sets `modules.<name>: false`. */
export function isModuleEnabled(config: Config, moduleName: string): boolean {
  return config.modules[moduleName] !== false;
}
