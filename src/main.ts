// The `natter` command line.
import { Command, Option } from "commander";
import { AccountExistsError, NoSuchAccountError } from "./auth/types.js";
import { accountJid, addUsersFromFile, CliError, withAccounts } from "./cli/accounts.js";
import { registerAdminCommands } from "./cli/admin-commands.js";
import { registerCertCommands } from "./cli/cert-status.js";
import { registerComplianceCommand } from "./cli/compliance.js";
import { registerFastCommands } from "./cli/fast-commands.js";
import { registerInviteCommands } from "./cli/invite-commands.js";
import { registerMigrationCommands } from "./cli/migration.js";
import { readPassword, readStdin } from "./cli/read-input.js";
import { registerStorageCommands } from "./cli/storage-copy.js";
import { notifySystemd } from "./cli/systemd-notify.js";
import { sendControlRequest } from "./control/control-server.js";
import { deleteAccount } from "./core/account-deletion.js";
import { type Config, ConfigError, loadConfig } from "./core/config/index.js";
import { planModules } from "./modules/module-plan.js";
import { NatterServer } from "./server.js";
import { NATTER_VERSION } from "./version.js";

const program = new Command();
program
  .name("natter")
  .description("Natter XMPP server")
  .version(NATTER_VERSION)
  .addOption(new Option("-c, --config <file>", "configuration file (default: built-in defaults)").env("NATTER_CONFIG"))
  .showHelpAfterError();

function config(): Config {
  return loadConfig(program.opts<{ config?: string }>().config);
}

program
  .command("start")
  .description("run the server")
  .action(async () => {
    const path = program.opts<{ config?: string }>().config;
    // Handlers first: by default SIGHUP would end the process while it starts, and SIGUSR1 open Node's inspector.
    let server: NatterServer | undefined;
    let reloadWhenStarted = false;
    const reload = () => {
      if (!server) {
        reloadWhenStarted = true;
        return;
      }
      server.log.info({ signal: "SIGHUP" }, "signal received: reloading the configuration");
      // The reload logs its result (changes, or why it was refused); nothing more to do here.
      void server.reload();
    };
    process.on("SIGHUP", reload);
    // logrotate's postrotate: reopen the log file at its path (a no-op when logging to stdout).
    process.on("SIGUSR1", () => server?.reopenLog());
    // A reload re-reads the same file (SIGHUP, `natter reload`, the XEP-0133 command).
    server = await NatterServer.start(config(), { configSource: () => loadConfig(path) });
    if (reloadWhenStarted) reload();
    notifySystemd(server.log);
    const running = server;
    let signals = 0;
    const shutdown = (signal: string) => {
      if (++signals > 1) process.exit(1);
      running.log.info({ signal }, "signal received");
      void running.stop().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });

program
  .command("adduser")
  .description("create an account (password from --password, a prompt, or stdin)")
  .argument("[jid]", "the account, e.g. alice@example.org")
  .option("-p, --password <password>", "the password (visible in the process list: prefer the prompt or stdin)")
  .option("-f, --from-file <file>", "create every account in a CSV file of jid,password lines")
  .action(async (jid: string | undefined, opts: { password?: string; fromFile?: string }) => {
    const cfg = config();
    if (opts.fromFile) {
      if (jid) throw new CliError("give either a JID or --from-file, not both");
      const result = await addUsersFromFile(cfg, opts.fromFile, true);
      for (const s of result.skipped) process.stderr.write(`${opts.fromFile}:${s.line}: skipped: ${s.reason}\n`);
      process.stdout.write(`created ${result.created} accounts, skipped ${result.skipped.length}\n`);
      if (result.skipped.length > 0) process.exitCode = 3;
      return;
    }
    if (!jid) throw new CliError("which account? natter adduser alice@host");
    const account = accountJid(cfg, jid);
    const password = opts.password ?? (await readPassword(`password for ${account}: `));
    if (password === "") throw new CliError("the password is empty");
    await withAccounts(cfg, async (accounts) => {
      try {
        await accounts.createUser(account.domain, account.local, password);
      } catch (err) {
        if (err instanceof AccountExistsError) throw new CliError(`${account} already exists`);
        throw err;
      }
    });
    process.stdout.write(`created ${account}\n`);
  });

program
  .command("deluser")
  .description("delete an account and all its data")
  .argument("<jid>")
  .action(async (jid: string) => {
    const cfg = config();
    const account = accountJid(cfg, jid);
    await withAccounts(cfg, async (accounts, storage) => {
      if (!(await accounts.userExists(account.domain, account.local))) throw new CliError(`${account} does not exist`);
      await deleteAccount(storage, accounts, account.domain, account.local);
    });
    process.stdout.write(`deleted ${account}\n`);
    // Its MUC affiliations and PEP whitelist entries are removed by the server's modules: a running server
    // does it now; otherwise the next start does, before it accepts connections.
    const response = await sendControlRequest(cfg.control_socket, { op: "account-deletions" }).catch(() => undefined);
    if (!response?.ok)
      process.stdout.write("its room affiliations and access grants are removed when the server next starts\n");
  });

program
  .command("passwd")
  .description("change an account's password")
  .argument("<jid>")
  .option("-p, --password <password>", "the new password (prefer the prompt or stdin)")
  .action(async (jid: string, opts: { password?: string }) => {
    const cfg = config();
    const account = accountJid(cfg, jid);
    const password = opts.password ?? (await readPassword(`new password for ${account}: `));
    if (password === "") throw new CliError("the password is empty");
    await withAccounts(cfg, async (accounts) => {
      try {
        await accounts.setPassword(account.domain, account.local, password);
      } catch (err) {
        if (err instanceof NoSuchAccountError) throw new CliError(`${account} does not exist`);
        throw err;
      }
    });
    process.stdout.write(`password changed for ${account}\n`);
  });

program
  .command("users")
  .description("list accounts, of one host or all")
  .argument("[host]")
  .action(async (host: string | undefined) => {
    const cfg = config();
    if (host !== undefined && !cfg.hosts.includes(host)) throw new CliError(`${host} is not a host of this server`);
    await withAccounts(cfg, async (accounts) => {
      for (const h of host ? [host] : cfg.hosts) {
        for (const user of await accounts.listUsers(h)) process.stdout.write(`${user}@${h}\n`);
      }
    });
  });

program
  .command("check-config")
  .description("validate the configuration and every module's options")
  .action(() => {
    const cfg = config();
    // The same check as start and reload.
    planModules(cfg);
    process.stdout.write(`configuration OK: hosts ${cfg.hosts.join(", ")}\n`);
  });

program
  .command("send")
  .description("send a message read from stdin to a JID, through the running server")
  .argument("<jid>", "recipient")
  .option("-m, --message <text>", "the message text instead of stdin")
  .action(async (jid: string, opts: { message?: string }) => {
    const cfg = config();
    const body = (opts.message ?? (await readStdin())).replace(/\n$/, "");
    if (body === "") throw new CliError("the message is empty");
    let response: Awaited<ReturnType<typeof sendControlRequest>>;
    try {
      response = await sendControlRequest(cfg.control_socket, { op: "send", to: jid, body });
    } catch {
      throw new CliError(`cannot reach a running server at ${cfg.control_socket} (is it started with this config?)`);
    }
    if (!response.ok) throw new CliError(response.error);
  });

registerAdminCommands(program, config);
registerInviteCommands(program, config);
registerFastCommands(program, config);
registerCertCommands(program, config);
registerMigrationCommands(program, config);
registerStorageCommands(program, config);
registerComplianceCommand(program, config);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof CliError) {
    process.stderr.write(`natter: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`natter: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
