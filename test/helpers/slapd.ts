// A real OpenLDAP slapd for the LDAP authentication tests: its own slapd.conf, mdb database and LDIF in a temp
// directory, listening on a free loopback port; never the system's slapd or its config. The directory is
// loaded with slapadd before start. Optional TLS (StartTLS on the same port) with a certificate from the test CA.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./test-server.js";

export const SLAPD = "/usr/sbin/slapd";
export const SLAPADD = "/usr/sbin/slapadd";
export const BASE_DN = "dc=example,dc=org";
export const ROOT_DN = `cn=admin,${BASE_DN}`;
export const ROOT_PASSWORD = "root-secret";

export interface SlapdUser {
  uid: string;
  password: string;
}

export interface SlapdOptions {
  users: SlapdUser[];
  /** groupOfNames cn=<name>,ou=groups with these uids as `member` DNs. */
  groups?: Record<string, string[]>;
  /** PEM certificate and key for StartTLS. */
  tls?: { cert: string; key: string };
}

export interface Slapd {
  url: string;
  port: number;
  dir: string;
  /** A service account that may search (read access for all authenticated binds). */
  serviceDn: string;
  servicePassword: string;
  userDn(uid: string): string;
  groupDn(name: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops slapd and removes its directory. */
  destroy(): Promise<void>;
}

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), "natter-slapd-"));
  const dbDir = join(dir, "db");
  mkdirSync(dbDir);
  const port = await freePort();
  const userDn = (uid: string) => `uid=${uid},ou=people,${BASE_DN}`;
  const groupDn = (name: string) => `cn=${name},ou=groups,${BASE_DN}`;
  const serviceDn = `cn=natter,ou=services,${BASE_DN}`;
  const servicePassword = "service-secret";
  const tlsLines: string[] = [];
  if (options.tls) {
    writeFileSync(join(dir, "cert.pem"), options.tls.cert);
    writeFileSync(join(dir, "key.pem"), options.tls.key, { mode: 0o600 });
    tlsLines.push(`TLSCertificateFile ${join(dir, "cert.pem")}`, `TLSCertificateKeyFile ${join(dir, "key.pem")}`);
  }
  const conf = [
    ...["core", "cosine", "inetorgperson", "nis"].map((s) => `include /etc/ldap/schema/${s}.schema`),
    `pidfile ${join(dir, "slapd.pid")}`,
    `argsfile ${join(dir, "slapd.args")}`,
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    ...tlsLines,
    "database mdb",
    "maxsize 16777216",
    `suffix "${BASE_DN}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${dbDir}`,
    // Users may bind with their password; authenticated binds may read everything but passwords.
    "access to attrs=userPassword by anonymous auth by * none",
    "access to * by users read by anonymous auth",
    "",
  ].join("\n");
  writeFileSync(join(dir, "slapd.conf"), conf);
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${serviceDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: natter\nuserPassword: ${servicePassword}`,
    ...options.users.map(
      (u) =>
        `dn: ${userDn(u.uid)}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\nsn: ${u.uid}\nuserPassword: ${u.password}`,
    ),
    ...Object.entries(options.groups ?? {}).map(
      ([name, members]) =>
        `dn: ${groupDn(name)}\nobjectClass: groupOfNames\ncn: ${name}\n${members.map((m) => `member: ${userDn(m)}`).join("\n")}`,
    ),
  ];
  writeFileSync(join(dir, "data.ldif"), `${entries.join("\n\n")}\n`);
  const load = spawnSync(SLAPADD, ["-f", join(dir, "slapd.conf"), "-l", join(dir, "data.ldif")], { encoding: "utf8" });
  if (load.status !== 0) throw new Error(`slapadd failed: ${load.stderr}`);

  let child: ChildProcess | undefined;
  const url = `ldap://127.0.0.1:${port}`;
  const slapd: Slapd = {
    url,
    port,
    dir,
    serviceDn,
    servicePassword,
    userDn,
    groupDn,
    async start() {
      // -d 0: stay in the foreground (the test owns the process), log nothing.
      const proc = spawn(SLAPD, ["-f", join(dir, "slapd.conf"), "-h", `${url}/`, "-d", "0"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = proc;
      let stderr = "";
      proc.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString("utf8");
      });
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`slapd exited (${proc.exitCode}): ${stderr}`);
        if (await canConnect(port)) return;
        if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      await slapd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await slapd.start();
  return slapd;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
