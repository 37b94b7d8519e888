// XEP-0377 Spam Reporting: a <report/> inside an item of a XEP-0191 <block/>. The block goes on as usual (the
// blocking module); this module reads the report on its way, counts it per reported JID (distinct reporters)
// and tells the server's admins (config `admins`) with a message, at most `notices` a minute. Admins list the
// counts per JID and per domain with the ad-hoc command "spam-reports" (docs/anti-spam.md).
import { z } from "zod";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_BLOCKING, NS_CLIENT, NS_REPORTING, NS_REPORTING_ABUSE, NS_REPORTING_SPAM } from "../../core/xml/ns.js";
import { KeyedBuckets } from "../anti-spam/keyed-buckets.js";

const options = z
  .object({
    /** Send each report to the admins as a message. */
    notify_admins: z.boolean().default(true),
    /** Notices to admins a minute (and at once), over all reports of this host; beyond, reports are only counted. */
    notices: z
      .object({ per_minute: z.number().min(0).default(10), burst: z.number().int().min(1).default(20) })
      .strict()
      .prefault({}),
    /** Reporters remembered per reported JID (a second report from the same user does not count again). */
    max_reporters: z.number().int().min(1).max(10_000).default(100),
    /** Rows the admin command lists. */
    list_limit: z.number().int().min(1).max(1000).default(50),
  })
  .strict();

const REASONS = new Set([NS_REPORTING_SPAM, NS_REPORTING_ABUSE]);

export interface ReportCount {
  count: number;
  /** ms since the epoch. */
  last: number;
  spam: number;
  abuse: number;
  reporters: string[];
}

export default defineModule({
  name: "spam-reporting",
  specs: [{ xep: 377, version: "0.4.0", status: "complete", note: "reports are counted and sent to admins" }],
  depends: ["blocking"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const opts = ctx.options;
    const counts = ctx.store("spam-reports", "keyval");
    const notices = new KeyedBuckets({ perMinute: opts.notices.per_minute, burst: opts.notices.burst }, 1);
    ctx.feature(NS_REPORTING); // XEP-0377 §3: on the server's disco#info

    async function record(reporter: string, reported: string, reason: string, report: Element): Promise<void> {
      const rec = ((await counts.get(reported)) as unknown as ReportCount | undefined) ?? {
        count: 0,
        last: 0,
        spam: 0,
        abuse: 0,
        reporters: [],
      };
      rec.last = Date.now();
      ctx.counters.antiSpamAction("spam-report");
      if (!rec.reporters.includes(reporter)) {
        rec.count += 1;
        if (reason === NS_REPORTING_SPAM) rec.spam += 1;
        else rec.abuse += 1;
        rec.reporters = [...rec.reporters, reporter].slice(-opts.max_reporters);
      }
      await counts.set(reported, rec as unknown as Parameters<typeof counts.set>[1]);
      ctx.log.info({ reporter, reported, reason, reports: rec.count }, "spam report");
      if (!opts.notify_admins || ctx.admins.size === 0) return;
      if (!notices.take("admins")) {
        ctx.log.info({ reported }, "spam report notice to admins skipped: notices rate limit");
        return;
      }
      const text = report.getChildText("text", NS_REPORTING)?.trim();
      const kind = reason === NS_REPORTING_SPAM ? "spam" : "abuse";
      const body = `${reporter} reported ${reported} for ${kind} (${rec.count} report${rec.count === 1 ? "" : "s"} so far)${text ? `: ${text}` : ""}`;
      for (const admin of ctx.admins) {
        const msg = new Element("message", NS_CLIENT, { from: host, to: admin, type: "normal" });
        msg.c("subject", NS_CLIENT).t("Spam report");
        msg.c("body", NS_CLIENT).t(body);
        // The report as the user sent it, with the reported JID beside it (XEP-0191 item).
        msg.c("item", NS_BLOCKING, { jid: reported }).append(report.clone());
        await ctx.route(msg);
      }
    }

    // XEP-0377 §6: the report rides on the user's own <block/> (to its account, or with no `to`).
    ctx.hookFirst(
      "stanza.outbound",
      ({ session, stanza }) => {
        if (stanza.name !== "iq" || stanza.attrs.type !== "set" || session.jid.domain !== host) return undefined;
        const block = stanza.getChild("block", NS_BLOCKING);
        if (!block) return undefined;
        const to = stanza.attrs.to;
        if (to !== undefined && to !== session.jid.bareString()) return undefined;
        for (const item of block.getChildren("item", NS_BLOCKING)) {
          const report = item.getChild("report", NS_REPORTING);
          const reason = report?.attrs.reason;
          const jid = tryParseJid(item.attrs.jid);
          if (!report || !jid || reason === undefined || !REASONS.has(reason)) continue;
          void record(session.jid.bareString(), jid.bareString(), reason, report).catch((err) =>
            ctx.log.error({ err }, "spam report not recorded"),
          );
        }
        return undefined; // the blocking module blocks as usual (§6: MUST block as without a report)
      },
      { priority: 50 },
    );

    /** Reported JIDs and their domains, most reported first. */
    async function listing(): Promise<{ jids: [string, ReportCount][]; domains: [string, number][] }> {
      const jids: [string, ReportCount][] = [];
      for (const jid of await counts.users()) {
        const rec = (await counts.get(jid)) as unknown as ReportCount | undefined;
        if (rec) jids.push([jid, rec]);
      }
      const domains = new Map<string, number>();
      for (const [jid, rec] of jids) {
        const domain = jid.slice(jid.indexOf("@") + 1);
        domains.set(domain, (domains.get(domain) ?? 0) + rec.count);
      }
      jids.sort((a, b) => b[1].count - a[1].count || b[1].last - a[1].last);
      return { jids, domains: [...domains].sort((a, b) => b[1] - a[1]) };
    }

    ctx.provideAdmin({
      kind: "spam-reports",
      reports: {
        host,
        async list() {
          const { jids, domains } = await listing();
          return {
            jids: jids.map(([jid, r]) => ({ jid, reports: r.count, spam: r.spam, abuse: r.abuse, last: r.last })),
            domains: domains.map(([domain, reports]) => ({ domain, reports })),
          };
        },
      },
    });

    ctx.command("spam-reports", {
      name: "List spam reports",
      allowed: (requester) => ctx.admins.has(requester.bareString()),
      async run() {
        const { jids, domains } = await listing();
        const limit = opts.list_limit;
        return {
          form: {
            type: "result",
            title: "Spam reports (XEP-0377)",
            fields: [
              {
                var: "jids",
                type: "text-multi",
                label: "Reported JIDs (reports, spam, abuse, last)",
                values: jids
                  .slice(0, limit)
                  .map(([j, r]) => `${j} ${r.count} ${r.spam} ${r.abuse} ${new Date(r.last).toISOString()}`),
              },
              {
                var: "domains",
                type: "text-multi",
                label: "Reported domains (reports)",
                values: domains.slice(0, limit).map(([d, n]) => `${d} ${n}`),
              },
            ],
          },
        };
      },
    });
  },
});
