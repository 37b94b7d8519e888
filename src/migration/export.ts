// `natter export`: writes one XEP-0227 document, host by host and user by user, straight to the file (never
// the whole document in memory). Written to a temporary file renamed at the end, so a failed export leaves
// no half file under the name asked for.

import { once } from "node:events";
import { createWriteStream, renameSync, rmSync } from "node:fs";
import { escapeAttr } from "../core/xml/element.js";
import { credentialElements } from "./account-credentials.js";
import { hostSections, USER_SECTIONS } from "./sections/index.js";
import { type MigrationContext, NS_PIE } from "./types.js";

export interface ExportReport {
  users: number;
  /** Elements written per section. */
  sections: Map<string, number>;
}

export async function exportPie(
  ctx: MigrationContext,
  path: string,
  hosts: readonly string[],
  onUser?: (done: number, total: number) => void,
): Promise<ExportReport> {
  const report: ExportReport = {
    users: 0,
    sections: new Map([...USER_SECTIONS, ...hostSections(ctx.modules)].map((s) => [s.name, 0])),
  };
  const usersByHost = new Map<string, string[]>();
  for (const host of hosts) usersByHost.set(host, await ctx.accounts.listUsers(host));
  const total = [...usersByHost.values()].reduce((n, u) => n + u.length, 0);
  const temp = `${path}.partial-${process.pid}`;
  const out = createWriteStream(temp, { encoding: "utf8", mode: 0o600 }); // holds credentials
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  failed.catch(() => {});
  const write = async (text: string) => {
    if (!out.write(text)) await Promise.race([once(out, "drain"), failed]);
  };
  try {
    await write(`<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='${NS_PIE}'>\n`);
    for (const [host, users] of usersByHost) {
      await write(`  <host jid="${escapeAttr(host)}">\n`);
      for (const user of users) {
        let body = "";
        const creds = await ctx.accounts.exportCredentials(host, user);
        for (const el of credentialElements(creds ?? {})) body += `      ${el.toString(NS_PIE)}\n`;
        for (const section of USER_SECTIONS) {
          const elements = await section.exportUser(ctx, host, user);
          report.sections.set(section.name, (report.sections.get(section.name) ?? 0) + elements.length);
          for (const el of elements) body += `      ${el.toString(NS_PIE)}\n`;
        }
        await write(`    <user name="${escapeAttr(user)}">\n${body}    </user>\n`);
        report.users++;
        onUser?.(report.users, total);
      }
      for (const section of hostSections(ctx.modules)) {
        const elements = await section.exportHost(ctx, host);
        report.sections.set(section.name, (report.sections.get(section.name) ?? 0) + elements.length);
        for (const el of elements) await write(`    ${el.toString(NS_PIE)}\n`);
      }
      await write("  </host>\n");
    }
    await write("</server-data>\n");
    out.end();
    await Promise.race([once(out, "finish"), failed]);
    renameSync(temp, path);
  } catch (err) {
    out.destroy();
    rmSync(temp, { force: true });
    throw err;
  }
  return report;
}
