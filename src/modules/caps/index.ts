// XEP-0115 Entity Capabilities: learns what each client session supports from the <c/> in its available
// presence (querying disco#info for an unknown ver, verifying the hash, caching verified vers in memory for
// every user of the host, least recently used forgotten first), and advertises the server's own caps as a
// stream feature (§6.3).
import { z } from "zod";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { LruMap } from "../../core/lru-map.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CAPS, NS_CLIENT, NS_DISCO_INFO } from "../../core/xml/ns.js";
import { isSupportedHash, verifyCaps } from "./caps-hash.js";
import { registerCapsResolver } from "./caps-resolvers.js";
import { hostInfo, hostVer } from "./server-caps.js";
import { type SessionCaps, sessionCaps, setSessionCaps, shareNotifyInterests } from "./session-caps.js";

const options = z
  .object({
    /** The node URI the server advertises in its own caps (§4: identifies the software). */
    node: z.string().min(1).default("https://natter.im"),
    /** Seconds to wait for a client's disco#info answer. */
    query_timeout: z.number().int().min(1).max(120).default(10),
    /**
     * Verified vers remembered (in memory, per host); the least recently used go first. Any account can mint
     * new vers at will, so the cache is bounded; a forgotten ver costs one more disco#info query.
     */
    cache_size: z.number().int().min(1).default(1000),
  })
  .strict();

const SERVER_HASH = "sha-1"; // §8.1: sha-1 is the one every entity MUST support

export default defineModule({
  name: "caps",
  specs: [
    {
      xep: 115,
      version: "1.6.0",
      status: "complete",
      note: "legacy (hash-less) caps used per session only, never cached",
    },
  ],
  depends: ["disco"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const hostJid = tryParseJid(host) as Jid;
    // Verified ver → features, shared by every user of the host (§5.4 step 3.9: "globally cache").
    const cache = new LruMap<string, ReadonlySet<string>>(ctx.options.cache_size);
    // One disco#info query at a time per hash+ver, whoever else logs in with it meanwhile.
    const inFlight = new Map<string, Promise<ReadonlySet<string> | undefined>>();

    async function queryDisco(jid: Jid, node: string, ver: string): Promise<Element | undefined> {
      const iq = new Element("iq", NS_CLIENT, { type: "get", from: host, to: jid.toString() });
      iq.c("query", NS_DISCO_INFO, { node: `${node}#${ver}` });
      const reply = await ctx.request(iq, ctx.options.query_timeout * 1000);
      if (reply?.attrs.type !== "result") return undefined;
      return reply.getChild("query", NS_DISCO_INFO);
    }

    const featuresOf = (query: Element): ReadonlySet<string> =>
      new Set(query.getChildren("feature", NS_DISCO_INFO).map((f) => f.attrs.var ?? ""));

    async function resolve(
      jid: Jid,
      node: string,
      ver: string,
      hash: string | undefined,
    ): Promise<ReadonlySet<string> | undefined> {
      if (hash === undefined) {
        // §8 legacy format: ver is no hash, so nothing can be verified or shared; this session only.
        const query = await queryDisco(jid, node, ver);
        return query ? featuresOf(query) : undefined;
      }
      if (!isSupportedHash(hash)) return undefined; // §5.4 step 2: unsupported hash, ignore
      const key = `${hash}\0${ver}`;
      const cached = cache.get(key);
      if (cached) return cached;
      const pending = inFlight.get(key);
      if (pending) return pending;
      const p = (async () => {
        const query = await queryDisco(jid, node, ver);
        if (!query) return undefined;
        // §5.4 step 3.8: a mismatch is invalid and MUST NOT be cached; Natter does not use it at all.
        if (!verifyCaps(query, hash, ver)) {
          ctx.log.info({ jid: jid.toString(), ver, hash }, "caps hash does not match the disco#info answer");
          return undefined;
        }
        const features = featuresOf(query);
        cache.set(key, features);
        return features;
      })().finally(() => inFlight.delete(key));
      inFlight.set(key, p);
      return p;
    }

    // Other modules of this host (PEP) resolve the caps of JIDs that are no session here: contacts on other
    // servers. Only hashed caps: legacy ones cannot be verified or shared, and would cost a query per presence.
    registerCapsResolver(ctx, host, {
      resolve: (jid, node, ver, hash) =>
        hash === undefined
          ? Promise.resolve(undefined)
          : resolve(jid, node, ver, hash).catch((err: unknown) => {
              ctx.log.warn({ err, jid: jid.toString() }, "caps lookup failed");
              return undefined;
            }),
    });

    // Runs before presence and PEP handlers (priority), so they find the session's caps already set. Never awaits
    // the client's answer here: this session's stanzas are handled in order, the answer among them.
    ctx.hook(
      "presence.broadcast",
      ({ session, stanza }) => {
        if (session.jid.domain !== host) return;
        if (stanza.attrs.type !== undefined) return setSessionCaps(session, undefined);
        const c = stanza.getChild("c", NS_CAPS);
        const node = c?.attrs.node;
        const ver = c?.attrs.ver;
        if (!c || node === undefined || ver === undefined) return setSessionCaps(session, undefined);
        const hash = c.attrs.hash;
        const current = sessionCaps(session);
        if (current && current.node === node && current.ver === ver && current.hash === hash) return;
        const features = resolve(session.jid, node, ver, hash).catch((err: unknown) => {
          ctx.log.warn({ err }, "caps lookup failed");
          return undefined;
        });
        const caps: SessionCaps = { node, ver, hash, features };
        setSessionCaps(session, caps);
        void features.then((known) => shareNotifyInterests(session, caps, known));
      },
      { priority: 100 },
    );

    // §6.3: the server's own caps as a stream feature. Offered with the SASL mechanisms, where the stream's host
    // is known to modules (the features after authentication come before binding, with no host to tell).
    ctx.hookFold("stream.preauth-features", async ({ stream }) => {
      if (stream.host !== host) return undefined;
      return new Element("c", NS_CAPS, { hash: SERVER_HASH, node: ctx.options.node, ver: await serverVer() });
    });

    // The host's ver is offered to every client that connects: computed again only when the modules change
    // (the host's disco#info is built from what they register), not once per login.
    let kept: { generation: number; ver: string } | undefined;
    async function serverVer(): Promise<string> {
      const generation = ctx.disco.generation();
      if (kept?.generation === generation) return kept.ver;
      const ver = hostVer(await hostInfo(ctx, host, hostJid), SERVER_HASH);
      kept = { generation, ver };
      return ver;
    }

    // §6.2: disco#info to node#ver gives the same identities, features and forms as without a node.
    ctx.hookFold("disco.info", async ({ to, node }) => {
      if (node === undefined || to.local !== "" || to.domain !== host || !node.startsWith(`${ctx.options.node}#`))
        return undefined;
      const info = await hostInfo(ctx, host, hostJid);
      return node === `${ctx.options.node}#${hostVer(info, SERVER_HASH)}` ? info : undefined;
    });
  },
});
