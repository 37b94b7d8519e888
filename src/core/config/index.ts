// The config API the rest of Natter imports.
export { ConfigError, type ConfigProblem } from "./config-error.js";
export { loadConfig, locateConfigKey, parseConfig } from "./load.js";
export { isModuleEnabled, validateModuleOptions } from "./module-options.js";
export { type Config, configSchema, type ListenerConfig, type LogLevel, type SaslMechanismName } from "./schema.js";
