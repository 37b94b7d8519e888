import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { z } from "zod";
import {
  ConfigError,
  isModuleEnabled,
  loadConfig,
  locateConfigKey,
  parseConfig,
  validateModuleOptions,
} from "./index.js";

/** The problems parseConfig reports for `text`, as the lines a user would read. */
function problems(text: string): string[] {
  try {
    parseConfig(text, "natter.yaml", "/srv/natter");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message.replace(/^invalid configuration[^:]*:\s*/, "").split("\n  ");
  }
  assert.fail("expected the configuration to be rejected");
}

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the built-in defaults without a file, with paths under the current directory", () => {
    const config = loadConfig();
    assert.deepEqual(config.hosts, ["localhost"]);
    assert.equal(config.data_dir, join(process.cwd(), "data"));
    assert.equal(config.log_level, "info");
    assert.deepEqual(config.listeners.c2s, { enabled: true, port: 5222, bind: [] });
    assert.deepEqual(config.listeners.c2s_direct_tls, { enabled: true, port: 5223, bind: [] });
    assert.equal(config.c2s.max_stanza_size, 262144);
    assert.deepEqual(config.c2s.sasl_mechanisms, [
      "SCRAM-SHA-256-PLUS",
      "SCRAM-SHA-1-PLUS",
      "SCRAM-SHA-256",
      "SCRAM-SHA-1",
      "PLAIN",
    ]);
    assert.deepEqual(config.auth.throttle, {
      per_ip: { delay_after: 5, attempts: 20, window: 600 },
      per_ip_account: { delay_after: 3, attempts: 5, window: 600 },
      per_account: { delay_after: 10, window: 600 },
      initial_delay: 0.5,
      max_delay: 4,
      max_account_delay: 2,
      exempt: [],
      max_entries: 100000,
    });
    assert.equal(config.auth.scram_downgrade_check, "client_shown");
    assert.equal(config.storage.sqlite.path, join(process.cwd(), "data", "natter.sqlite"));
    assert.equal(config.control_socket, join(process.cwd(), "data", "natter.sock"));
    assert.deepEqual(config.modules, {});
    assert.equal(config.send.from, "");
  });

  it("resolves relative paths against the config file's directory and keeps absolute ones", () => {
    const file = join(dir, "natter.yaml");
    writeFileSync(
      file,
      [
        "hosts: [Example.ORG, chat.example.org]",
        "data_dir: state",
        "admins: [Alice@Example.org]",
        "tls:",
        "  certificates:",
        "    - { cert: certs/example.crt, key: /etc/natter/example.key }",
        "storage: { sqlite: { path: db/natter.sqlite } }",
        "control_socket: /run/natter.sock",
        "",
      ].join("\n"),
    );
    const config = loadConfig(file);
    assert.deepEqual(config.hosts, ["example.org", "chat.example.org"]);
    assert.deepEqual(config.admins, ["alice@example.org"]);
    assert.equal(config.data_dir, join(dir, "state"));
    assert.deepEqual(config.tls.certificates, [
      { cert: join(dir, "certs/example.crt"), key: "/etc/natter/example.key" },
    ]);
    assert.equal(config.storage.sqlite.path, join(dir, "state", "db", "natter.sqlite"));
    assert.equal(config.control_socket, "/run/natter.sock");
  });

  it("reports a missing file by name", () => {
    const missing = join(dir, "nope.yaml");
    assert.throws(() => loadConfig(missing), {
      name: "ConfigError",
      message: `invalid configuration: ${missing}: cannot read the configuration: file not found`,
    });
  });

  it("refuses a cluster on SQLite, and a node_timeout shorter than two heartbeats", () => {
    const sqlite = problems("cluster:\n  redis_url: redis://127.0.0.1:6379\n").join("\n");
    assert.match(sqlite, /storage\.driver.*a cluster needs storage\.driver postgres/);
    const timing = problems(
      "storage:\n  driver: postgres\n  postgres:\n    url: postgres://x@h/d\ncluster:\n  redis_url: redis://h:6379\n  heartbeat_interval: 2\n  node_timeout: 3\n",
    ).join("\n");
    assert.match(timing, /cluster\.node_timeout.*twice heartbeat_interval/);
    const ok = parseConfig(
      "storage:\n  driver: postgres\n  postgres:\n    url: postgres://x@h/d\ncluster:\n  redis_url: redis://h:6379\n  node_id: n1\n",
      "natter.yaml",
      "/srv",
    );
    assert.equal(ok.cluster.node_timeout, 5);
    assert.equal(ok.cluster.key_prefix, "natter:");
  });

  it("accepts the annotated example in docs/config.md, which spells out every default", () => {
    const doc = readFileSync(new URL("../../../docs/config.md", import.meta.url), "utf8");
    const example = /<!-- full-example -->\s*```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example !== undefined, "docs/config.md has a full example");
    assert.deepEqual(parseConfig(example, "config.md", "/srv"), parseConfig("", "empty.yaml", "/srv"));
  });
});

describe("config validation errors name the key and its line", () => {
  it("storage.postgres: a URL is required with driver postgres; URL, pool size and timeout are checked, the URL never echoed", () => {
    assert.deepEqual(problems("storage:\n  driver: postgres\n"), [
      "natter.yaml:1:1: storage.postgres.url: storage.driver is postgres: give the database URL",
    ]);
    const bad = problems(
      "storage:\n  postgres:\n    url: mysql://u:hunter2@db/x\n    pool_size: 0\n    connect_timeout: 0\n",
    );
    assert.deepEqual(bad, [
      "natter.yaml:3:10: storage.postgres.url: expected a URL like postgres://user:password@host:5432/database",
      "natter.yaml:4:16: storage.postgres.pool_size: expected a number of connections: a whole number between 1 and 1000",
      "natter.yaml:5:22: storage.postgres.connect_timeout: expected at least 0.1 seconds",
    ]);
    assert.doesNotMatch(bad.join("\n"), /hunter2/);
    const ok = parseConfig(
      "storage:\n  driver: postgres\n  postgres: { url: 'postgres://natter@db/natter' }\n",
      "natter.yaml",
      "/srv",
    );
    assert.deepEqual(ok.storage.postgres, { url: "postgres://natter@db/natter", pool_size: 10, connect_timeout: 10 });
  });
  it("tls.acme: agree_tos must be true to enable it; URL, email, key type and days are checked", () => {
    assert.deepEqual(problems("tls:\n  acme:\n    enabled: true\n"), [
      "natter.yaml:2:3: tls.acme.agree_tos: must be true to enable tls.acme: it states that you agree to the CA's terms of service",
    ]);
    assert.deepEqual(
      problems(
        "tls:\n  acme:\n    directory_url: http://ca.example/dir\n    email: nope\n    key_type: dsa\n    renew_before_days: 0\n",
      ),
      [
        "natter.yaml:3:20: tls.acme.directory_url: expected the https:// URL of an ACME directory",
        "natter.yaml:4:12: tls.acme.email: expected an email address for the CA's expiry notices",
        'natter.yaml:5:15: tls.acme.key_type: expected one of "ecdsa", "rsa"; got the string "dsa"',
        "natter.yaml:6:24: tls.acme.renew_before_days: expected a number of days: a whole number between 1 and 100000",
      ],
    );
    assert.deepEqual(
      problems("listeners:\n  http: { enabled: false }\ntls:\n  acme: { enabled: true, agree_tos: true }\n"),
      [
        "natter.yaml:4:20: tls.acme.enabled: needs listeners.http.enabled: the CA fetches its HTTP-01 challenges from the HTTP listener",
      ],
    );
  });
  it("auth.throttle: exempt entries must be addresses or CIDR ranges; the old per_account lock is gone", () => {
    assert.deepEqual(problems("auth:\n  throttle:\n    exempt: ['10.0.0.0/8', proxy.example.org, '::1/200']\n"), [
      'natter.yaml:3:28: auth.throttle.exempt[1]: "proxy.example.org" is not an IP address or CIDR range (such as 192.0.2.0/24)',
      'natter.yaml:3:47: auth.throttle.exempt[2]: "::1/200": the prefix length must be 0 to 128',
    ]);
    assert.deepEqual(problems("auth:\n  throttle:\n    per_account: { attempts: 5 }\n"), [
      "natter.yaml:3:20: auth.throttle.per_account.attempts: unknown key",
    ]);
  });

  it("auth providers: each one in use has what it needs, and host_providers names served hosts", () => {
    assert.deepEqual(problems("hosts: [a.test]\nauth:\n  provider: ldap\n"), [
      "natter.yaml:2:1: auth.ldap.url: the LDAP provider needs the directory's URL",
      "natter.yaml:2:1: auth.ldap: set user_dn (bind as the user at a DN template) or base (search for the user, then bind)",
    ]);
    assert.deepEqual(
      problems("hosts: [a.test]\nauth:\n  host_providers: { b.test: http }\n  ldap: { url: 'http://x' }\n"),
      [
        'natter.yaml:3:29: auth.host_providers.b.test: "b.test" is not one of hosts',
        "natter.yaml:4:16: auth.ldap.url: expected an ldap:// or ldaps:// URL with a host (and port), e.g. ldaps://ldap.example.org",
      ],
    );
    assert.deepEqual(problems("hosts: [a.test]\nauth:\n  provider: external\n"), [
      "natter.yaml:2:1: auth.external.command: the external provider needs the program to run",
    ]);
    assert.deepEqual(
      problems(
        "hosts: [a.test]\nauth:\n  host_providers: { a.test: ldap }\n  ldap: { url: 'ldap://d', user_dn: 'cn=x', bind_dn: 'cn=s' }\n",
      ),
      [
        "natter.yaml:4:3: auth.ldap.bind_password: the service account needs its password (an empty one is an anonymous bind, RFC 4513 §5.1.2)",
        "natter.yaml:4:37: auth.ldap.user_dn: the DN template needs %u (the username)",
      ],
    );
    assert.deepEqual(problems("hosts: [a.test]\nauth:\n  provider: sql\n"), [
      "natter.yaml:3:13: auth.provider: expected one of internal, ldap, external, http",
    ]);
  });

  it("unknown key, with a suggestion", () => {
    assert.deepEqual(problems("hosts: [example.org]\nlisteners:\n  c2s:\n    prot: 5222\n"), [
      'natter.yaml:4:5: listeners.c2s.prot: unknown key (did you mean "port"?)',
    ]);
    assert.deepEqual(problems("log-level: debug\n"), [
      'natter.yaml:1:1: log-level: unknown key (did you mean "log_level"?)',
    ]);
  });

  it("s2s: resolver overrides and domain lists", () => {
    assert.deepEqual(problems("s2s:\n  resolve:\n    example.net: nowhere\n  deny_domains: ['bad host']\n"), [
      'natter.yaml:3:18: s2s.resolve.example.net: expected "host:port" or "tls:host:port", such as "127.0.0.1:5269"',
      "natter.yaml:4:18: s2s.deny_domains[0]: expected a domain name such as example.org",
    ]);
    const ok = parseConfig(
      "s2s:\n  resolve: { example.net: 'tls:[::1]:5270', example.com: '127.0.0.1:5269' }\n",
      "natter.yaml",
      "/srv",
    );
    assert.deepEqual(ok.s2s.resolve, { "example.net": "tls:[::1]:5270", "example.com": "127.0.0.1:5269" });
  });

  it("bad port", () => {
    assert.deepEqual(problems("listeners:\n  c2s:\n    port: 70000\n  c2s_direct_tls: { port: '5223' }\n"), [
      "natter.yaml:3:11: listeners.c2s.port: expected a number between 0 and 65535 (0: any free port)",
      "natter.yaml:4:27: listeners.c2s_direct_tls.port: expected a number between 0 and 65535 (0: any free port)",
    ]);
  });

  it("bad admin JID and bad host", () => {
    assert.deepEqual(
      problems("hosts: [example.org, 'bad host']\nadmins:\n  - example.org\n  - alice@example.org/phone\n"),
      [
        "natter.yaml:1:22: hosts[1]: expected a domain name such as example.org",
        'natter.yaml:3:5: admins[0]: "example.org" is not a bare JID such as "admin@example.org"',
        'natter.yaml:4:5: admins[1]: "alice@example.org/phone" is not a bare JID such as "admin@example.org"',
      ],
    );
  });

  it("two enabled listeners on one port; a disabled one may share it", () => {
    assert.deepEqual(problems("listeners:\n  c2s: { port: 5222 }\n  c2s_direct_tls:\n    port: 5222\n"), [
      "natter.yaml:4:11: listeners.c2s_direct_tls.port: port 5222 is also used by listeners.c2s",
    ]);
    const config = parseConfig("listeners:\n  c2s_direct_tls: { enabled: false, port: 5222 }\n", "natter.yaml");
    assert.equal(config.listeners.c2s_direct_tls.port, 5222);
  });

  it("components (XEP-0114): a valid domain of their own, listed once, with a non-empty secret", () => {
    assert.deepEqual(
      problems("components:\n  - { domain: irc.example.org, secret: '' }\n  - { domain: 'bad host', secret: y }\n"),
      [
        "natter.yaml:2:40: components[0].secret: the secret may not be empty",
        "natter.yaml:3:15: components[1].domain: expected a domain name such as example.org",
      ],
    );
    assert.deepEqual(
      problems(
        "hosts: [example.org]\ncomponents:\n  - { domain: example.org, secret: x }\n  - { domain: irc.example.org, secret: x }\n  - { domain: IRC.example.org, secret: y }\n",
      ),
      [
        'natter.yaml:3:15: components[0].domain: "example.org" is one of hosts; a component needs a domain of its own',
        'natter.yaml:5:15: components[2].domain: "irc.example.org" is listed twice',
      ],
    );
    const config = parseConfig("components:\n  - { domain: Bot.Example.org, secret: s }\n", "natter.yaml");
    assert.deepEqual(
      config.components.map(({ domain, secret }) => ({ domain, secret })),
      [{ domain: "bot.example.org", secret: "s" }],
    );
    assert.equal(
      config.components[0]?.rate_limit.bytes_per_second,
      1_048_576,
      "each component gets the default input rate",
    );
    assert.deepEqual(config.listeners.component, { enabled: true, port: 5347, bind: ["127.0.0.1", "::1"] });
  });

  it("duplicate YAML keys", () => {
    assert.deepEqual(problems("c2s:\n  max_depth: 10\n  max_depth: 20\n"), [
      'natter.yaml:3:3: c2s.max_depth: duplicate key "max_depth"',
    ]);
  });

  it("YAML syntax errors and a document that is not a map", () => {
    assert.deepEqual(problems("hosts: [example.org\n"), [
      "natter.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    assert.deepEqual(problems("- example.org\n"), ["natter.yaml:1:1: expected a map of settings at the top level"]);
  });

  it("wrong types, enums and limits, all listed at once in file order", () => {
    assert.deepEqual(
      problems(
        [
          "log_level: verbose",
          "hosts: []",
          "c2s:",
          "  require_encryption: 'yes'",
          "  max_stanza_size: 100",
          "  sasl_mechanisms: [SCRAM-SHA-256, DIGEST-MD5]",
          "auth: { scram_iterations: 1000 }",
          "modules: { muc: 3 }",
          "send: { from: '@@' }",
          "",
        ].join("\n"),
      ),
      [
        'natter.yaml:1:12: log_level: expected one of "fatal", "error", "warn", "info", "debug", "trace"; got the string "verbose"',
        "natter.yaml:2:8: hosts: at least one host is needed",
        'natter.yaml:4:23: c2s.require_encryption: expected a boolean, got the string "yes"',
        "natter.yaml:5:20: c2s.max_stanza_size: expected a size in bytes: a whole number of at least 10000",
        'natter.yaml:6:36: c2s.sasl_mechanisms[1]: expected one of "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"; got the string "DIGEST-MD5"',
        "natter.yaml:7:27: auth.scram_iterations: expected an iteration count: a whole number between 4096 and 10000000",
        "natter.yaml:8:17: modules.muc: expected the module's options as a map, true to enable it with defaults, or false to disable it",
        'natter.yaml:9:15: send.from: expected a JID or ""',
      ],
    );
  });

  it("ConfigError carries the problems as data", () => {
    try {
      parseConfig("listeners:\n  c2s:\n    port: -1\n", "natter.yaml");
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        {
          file: "natter.yaml",
          line: 3,
          col: 11,
          keyPath: "listeners.c2s.port",
          message: "expected a number between 0 and 65535 (0: any free port)",
        },
      ]);
    }
  });
});

describe("module options", () => {
  const mucOptions = z
    .object({
      max_rooms: z.number().int().min(0).default(100),
      default_room_name: z.string().default("Room"),
    })
    .strict();
  const text = [
    "hosts: [example.org]",
    "modules:",
    "  muc:",
    "    max_rooms: -1",
    "    default_rom_name: x",
    "  ping:",
    "  mam: false",
    "",
  ].join("\n");

  it("reports a module's own validation errors with their line in natter.yaml", () => {
    const config = parseConfig(text, "natter.yaml");
    assert.throws(() => validateModuleOptions(config, "muc", mucOptions), {
      name: "ConfigError",
      message: [
        "invalid configuration (2 problems):",
        "  natter.yaml:4:16: modules.muc.max_rooms: expected at least 0, got -1",
        '  natter.yaml:5:5: modules.muc.default_rom_name: unknown key (did you mean "default_room_name"?)',
      ].join("\n"),
    });
  });

  it("gives the schema's defaults for an absent, empty or `true` entry, and knows disabled modules", () => {
    const config = parseConfig(text, "natter.yaml");
    assert.deepEqual(validateModuleOptions(config, "ping", mucOptions), { max_rooms: 100, default_room_name: "Room" });
    assert.deepEqual(validateModuleOptions(config, "roster", mucOptions), {
      max_rooms: 100,
      default_room_name: "Room",
    });
    assert.equal(isModuleEnabled(config, "mam"), false);
    assert.equal(isModuleEnabled(config, "ping"), true);
    assert.equal(locateConfigKey(config, ["modules", "muc", "max_rooms"]), "natter.yaml:4:16");
    assert.equal(locateConfigKey(config, ["modules", "vcard"]), "natter.yaml:2:1");
  });

  it("reports without a line when the config came from defaults", () => {
    assert.throws(() => validateModuleOptions(loadConfig(), "muc", z.object({ required: z.string() })), {
      message: "invalid configuration: <defaults>: modules.muc.required: is required (a string)",
    });
  });
});
