// Reads natter.yaml: YAML with positions → zod schema → absolute paths. Every problem found is reported at
// once, each as `file:line:col: key.path: message`.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import YAML, { LineCounter } from "yaml";
import { ConfigError, type ConfigProblem, formatKeyPath } from "./config-error.js";
import { type ConfigSource, keyPathAtOffset, positionOf, rememberSource, sourceOf } from "./config-source.js";
import { friendlyMessage, issuesToProblems } from "./issues.js";
import { type Config, configSchema } from "./schema.js";

export const DEFAULTS_NAME = "<defaults>";

/**
 * Loads and validates a config file. Without a path, the built-in defaults (relative paths against the
 * current directory). Throws ConfigError listing every problem.
 */
export function loadConfig(path?: string): Config {
  if (path === undefined) return parseConfig("", DEFAULTS_NAME, process.cwd());
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new ConfigError([{ file: path, keyPath: "", message: `cannot read the configuration: ${reason}` }]);
  }
  return parseConfig(text, path, dirname(resolve(path)));
}

/**
 * Parses config text. `fileName` is used in messages; relative paths in the config resolve against `baseDir`
 * (by default the directory of `fileName`).
 */
export function parseConfig(text: string, fileName: string, baseDir = dirname(resolve(fileName))): Config {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const source: ConfigSource = { fileName, doc, lineCounter };
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((error) => yamlProblem(source, text, error)));

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError([{ file: fileName, keyPath: "", message: (error as Error).message }]);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    const position = positionOf(source, []);
    throw new ConfigError([
      { file: fileName, ...position, keyPath: "", message: "expected a map of settings at the top level" },
    ]);
  }

  const result = configSchema.safeParse(raw, { error: friendlyMessage });
  if (!result.success) {
    throw new ConfigError(issuesToProblems(result.error.issues, fileName, source, [], configSchema.parse({})));
  }
  const config = withAbsolutePaths(result.data, baseDir);
  rememberSource(config, source);
  return config;
}

/** `natter.yaml:12:3` for a key path of a loaded config, or undefined when the key is not in the file. */
export function locateConfigKey(config: Config, path: readonly PropertyKey[]): string | undefined {
  const source = sourceOf(config);
  if (source === undefined) return undefined;
  const position = positionOf(source, path);
  if (position === undefined) return undefined;
  return `${source.fileName}:${position.line}:${position.col}`;
}

function withAbsolutePaths(config: Config, baseDir: string): Config {
  const dataDir = resolve(baseDir, config.data_dir);
  const sqlitePath = config.storage.sqlite.path;
  return {
    ...config,
    data_dir: dataDir,
    log_file: config.log_file === "" ? "" : resolve(baseDir, config.log_file),
    tls: {
      ...config.tls,
      certificates: config.tls.certificates.map((pair) => ({
        cert: resolve(baseDir, pair.cert),
        key: resolve(baseDir, pair.key),
      })),
      acme: {
        ...config.tls.acme,
        ...(config.tls.acme.ca_file === undefined ? {} : { ca_file: resolve(baseDir, config.tls.acme.ca_file) }),
      },
    },
    storage: {
      ...config.storage,
      // SQLite's in-memory database name is not a path.
      sqlite: { ...config.storage.sqlite, path: sqlitePath === ":memory:" ? sqlitePath : resolve(dataDir, sqlitePath) },
    },
    control_socket: isAbsolute(config.control_socket) ? config.control_socket : resolve(dataDir, config.control_socket),
    auth: withAbsoluteAuthPaths(config.auth, baseDir),
  };
}

/** CA files and an extauth program given by a relative path (one with a "/") resolve against the config's directory. */
function withAbsoluteAuthPaths(auth: Config["auth"], baseDir: string): Config["auth"] {
  const file = (path: string) => (path === "" ? "" : resolve(baseDir, path));
  const command = auth.external.command;
  return {
    ...auth,
    ldap: { ...auth.ldap, ca_file: file(auth.ldap.ca_file) },
    http: { ...auth.http, ca_file: file(auth.http.ca_file) },
    external: { ...auth.external, command: command.includes("/") ? resolve(baseDir, command) : command },
  };
}

function yamlProblem(source: ConfigSource, text: string, error: YAML.YAMLError): ConfigProblem {
  const [start] = error.pos;
  const position = error.linePos?.[0] ?? source.lineCounter.linePos(start);
  // The yaml package appends " at line L, column C:" and a code frame; the position is printed by us.
  let message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  let keyPath = "";
  if (error.code === "DUPLICATE_KEY") {
    const path = keyPathAtOffset(source, start);
    const key = path?.at(-1) ?? /^[^:\n]*/.exec(text.slice(start))?.[0];
    message = `duplicate key "${String(key)}"`;
    if (path !== undefined) keyPath = formatKeyPath(path);
  }
  return { file: source.fileName, line: position.line, col: position.col, keyPath, message };
}
