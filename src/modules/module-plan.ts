// Which modules a config turns on, in load order, with their validated options. One check shared by start,
// reload and `natter check-config`, so that a file one of them accepts the others accept too; every problem
// is reported at once with its line.
import { ConfigError, type ConfigProblem } from "../core/config/config-error.js";
import { sourceOf } from "../core/config/config-source.js";
import { type Config, isModuleEnabled, validateModuleOptions } from "../core/config/index.js";
import { problemAt } from "../core/config/issues.js";
import { DEFAULTS_NAME } from "../core/config/load.js";
import type { ModuleDefinition } from "../core/modules.js";
import { DEFAULT_MODULES, MODULE_CATALOGUE } from "./catalogue.js";

export interface PlannedModule {
  name: string;
  definition: ModuleDefinition<never>;
  /** Validated against the module's schema (defaults filled in). */
  options: unknown;
}

/** The enabled modules, dependencies first. Throws ConfigError listing every problem. */
export function planModules(config: Config): PlannedModule[] {
  const source = sourceOf(config);
  const file = source?.fileName ?? DEFAULTS_NAME;
  const problems: ConfigProblem[] = [];
  const names = [...DEFAULT_MODULES];
  for (const name of Object.keys(config.modules)) {
    if (!MODULE_CATALOGUE.has(name)) {
      problems.push(problemAt(file, source, ["modules", name], "there is no module of that name", "key"));
    } else if (!names.includes(name)) names.push(name);
  }
  const planned: PlannedModule[] = [];
  for (const name of names) {
    if (!isModuleEnabled(config, name)) continue;
    const definition = MODULE_CATALOGUE.get(name)!;
    try {
      const options = definition.options ? validateModuleOptions(config, name, definition.options) : {};
      planned.push({ name, definition, options });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  // The loader checks this too, but only once it is half-way through loading: here it refuses the file whole.
  const enabled = new Set(planned.map((m) => m.name));
  for (const m of planned) {
    for (const dep of m.definition.depends ?? []) {
      if (!enabled.has(dep)) {
        problems.push(problemAt(file, source, ["modules", dep], `module ${m.name} needs module ${dep}, which is turned off`, "key"));
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return planned;
}
