// Multi-User Chat (XEP-0045) as a service on its own domain (conference.<host> by default): rooms with
// occupants, roles and affiliations, owner configuration, history on join from the room archive,
// persistent rooms, invitations, disco, XEP-0421 occupant ids and XEP-0410 self-ping.
import { randomBytes } from "node:crypto";
import { StanzaError } from "../../core/errors.js";
import { enforceDomainpart, type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import { handleOccupantIq, handleRoomIq, handleServiceIq } from "./iq.js";
import { handlePrivateMessage, handleRoomMessage } from "./messages.js";
import { occupantPresence } from "./occupant-presence.js";
import { handleOccupantPresence, removeSessionEverywhere } from "./occupants.js";
import { type MucOptions, mucOptions } from "./options.js";
import { RoomStore } from "./room-store.js";
import { exceedsSize } from "./stanza-size.js";
import { MucService } from "./service.js";
import { MucRoomAdministration } from "./room-administration.js";
import type { ArchiveWrite } from "./messages.js";
import { MucClusterInbox, MucPlacement } from "./cluster-placement.js";
import { attachClusterRoomList } from "./cluster-room-list.js";

const CLUSTER_INBOX = Symbol("muc cluster inbox");
/** Broadcast by the node where an account was deleted: every node drops its affiliations from the rooms it holds. */
const ACCOUNT_DELETED = "muc.account-deleted";

export { MucService } from "./service.js";

export async function dispatch(svc: MucService, stanza: Element, to: Jid): Promise<void> {
  const from = tryParseJid(stanza.attrs.from);
  if (!from) return;
  const type = stanza.attrs.type;
  // A groupchat message's archive commit, waited for after the room's turn (see broadcastGroupchat).
  let write: ArchiveWrite | undefined;
  const run = async () => {
    try {
      if (to.local === "") {
        if (stanza.name === "iq") await handleServiceIq(svc, stanza);
        else if (stanza.name === "message") throw new StanzaError("service-unavailable");
        return; // presence to the service itself means nothing
      }
      // max_stanza_size: what an occupant sends is copied to everyone (leaving is never refused: see leave()).
      if (
        stanza.name !== "iq" &&
        type !== "error" &&
        type !== "unavailable" &&
        exceedsSize(stanza, svc.options.max_stanza_size)
      )
        throw svc.limitReached(
          "max_stanza_size",
          from.bareString(),
          "policy-violation",
          `stanzas to rooms are at most ${svc.options.max_stanza_size} characters`,
        );
      if (stanza.name === "presence") {
        // §7.2.1: entering needs a nickname.
        if (to.resource === "") {
          if (type === undefined) throw new StanzaError("jid-malformed", "a nickname is required");
          return;
        }
        await handleOccupantPresence(svc, stanza, from, to);
      } else if (stanza.name === "message") {
        if (to.resource === "") write = await handleRoomMessage(svc, stanza, from, to);
        else await handlePrivateMessage(svc, stanza, from, to);
      } else if (stanza.name === "iq") {
        await (to.resource === "" ? handleRoomIq(svc, stanza, from, to) : handleOccupantIq(svc, stanza, from, to));
      }
    } catch (err) {
      if (err instanceof StanzaError) return svc.reject(stanza, err);
      svc.log.error({ err, to: stanza.attrs.to, name: stanza.name }, "muc stanza failed");
      await svc.reject(stanza, new StanzaError("internal-server-error"));
    }
  };
  if (to.local === "") return run();
  await svc.serial(to.local, run);
  try {
    await write?.committed;
  } catch (err) {
    svc.log.error({ err, room: to.local }, "room archive write failed");
  }
}

export default defineModule<MucOptions>({
  name: "muc",
  liveState: "rooms and their occupants",
  // Moving the service to another domain would mean a new component and new room JIDs: that waits for a restart.
  liveOptions: { except: ["domain"] },
  specs: [
    {
      xep: 45,
      version: "1.35",
      status: "partial",
      note: "no registration (§7.10), no reserved nicks, no room-wide admin/owner form fields",
    },
    { xep: 421, version: "1.0.1", status: "complete" },
    { xep: 410, version: "1.1.0", status: "complete", note: "self-ping answered by the service (§3.3)" },
    { xep: 359, version: "0.7.0", status: "partial", note: "stanza-id on room messages" },
    { xep: 313, version: "1.1.3", status: "complete", note: "room archives, served with the mam module" },
    { xep: 203, version: "2.0", status: "complete", note: "delay stamp on room history" },
    { xep: 249, version: "1.2", status: "complete", note: "direct invitations pass between users untouched" },
  ],
  options: mucOptions,
  async setup(ctx) {
    const options = ctx.options; // at setup only: later the service reads svc.options
    const domain = enforceDomainpart(options.domain ?? `conference.${ctx.host}`);
    const secretStore = ctx.store("muc-secret", "keyval");
    let stored = await secretStore.get("");
    if (typeof stored !== "string") {
      stored = randomBytes(32).toString("base64");
      await secretStore.set("", stored);
    }
    const roomStore = new RoomStore(ctx.store("muc-rooms", "keyval"), domain, ctx.admins);
    const svc = new MucService({
      domain,
      host: ctx.host,
      options,
      log: ctx.log,
      router: ctx,
      admins: ctx.admins,
      hosts: ctx.hosts,
      roomStore,
      archive: ctx.store("muc-archive", "archive"),
      secret: Buffer.from(stored, "base64"),
    });
    ctx.onOptionsChanged((next) => svc.reconfigure(next));
    // In a cluster each room lives on one node (cluster-placement.ts); the others forward its stanzas there.
    const bus = ctx.cluster;
    let placement: MucPlacement | undefined;
    if (bus) {
      const cluster = bus;
      placement = new MucPlacement({
        svc,
        bus: cluster,
        local: (stanza, to) => dispatch(svc, stanza, to),
        hosts: ctx.hosts,
        log: ctx.log,
      });
      const inbox = ctx.perServer(CLUSTER_INBOX, () => new MucClusterInbox(cluster, ctx.log));
      const placed = placement;
      const removers = [
        inbox.add(domain, (stanza, delivery, hops) => placed.receive(stanza, delivery, hops)),
        cluster.onMembership((event) => void placed.membershipChanged(event)),
        attachClusterRoomList(svc, cluster, ctx.log),
      ];
      ctx.onUnload(() => {
        for (const remove of removers) remove();
      });
      await placement.rebalance(); // the persistent rooms this node owns now
      ctx.component(domain, (stanza, to) => placed.dispatch(stanza, to));
    } else {
      for (const room of await roomStore.loadAll(options)) svc.addRoom(room);
      ctx.component(domain, (stanza, to) => dispatch(svc, stanza, to));
    }
    ctx.provideAdmin({ kind: "rooms", rooms: new MucRoomAdministration(svc) });

    // Metrics read the service's size at scrape time (metrics/server-metrics.ts).
    ctx.hookFold("muc.occupancy", () => {
      let occupants = 0;
      for (const room of svc.rooms.values()) occupants += room.occupants.size;
      return { domain, rooms: svc.rooms.size, occupants };
    });

    // A client that went away without leaving: out of every room of this service (rooms serve any host's users).
    ctx.hook("session.closed", async ({ session }) => {
      await removeSessionEverywhere(svc, session.jid.toString(), {});
      await placement?.sessionClosed(session.jid.toString());
    });

    // A deleted account's affiliations (outcast too) go with it: whoever registers the name next is someone else
    // and must not find itself owner or member of rooms (rooms serve any host's users).
    const dropAffiliations = async (bare: string) => {
      for (const room of [...svc.rooms.values()]) {
        if (!room.affiliations.has(bare)) continue;
        await svc.serial(room.localpart, async () => {
          room.setAffiliation(bare, "none");
          await svc.save(room);
        });
        ctx.log.info({ room: room.jid.toString(), user: bare }, "affiliation of a deleted account removed");
      }
    };
    ctx.hook("account.deleted", async ({ host, user }) => {
      // In a cluster the other nodes' rooms too (each node holds its own rooms; at most once, like any broadcast).
      bus?.broadcast({ kind: ACCOUNT_DELETED, domain, bare: `${user}@${host}` });
      await dropAffiliations(`${user}@${host}`);
    });
    if (bus) {
      const off = bus.onBroadcast(ACCOUNT_DELETED, (message) => {
        if (message.domain !== domain || typeof message.bare !== "string") return;
        void dropAffiliations(message.bare).catch((err: unknown) =>
          ctx.log.error({ err }, "affiliations of an account deleted on another node not removed"),
        );
      });
      ctx.onUnload(off);
    }

    // §15.6 status 332: occupants learn they were removed because the service is shutting down.
    ctx.hook("server.stopping", async () => {
      for (const room of [...svc.rooms.values()]) {
        for (const occ of [...room.occupants.values()]) {
          for (const s of occ.sessions.keys()) {
            await svc.send(
              occupantPresence(room, occ, s, { role: occ.role, self: true }, { unavailable: true, statuses: [332] }),
            );
          }
        }
        room.clearOccupants();
      }
    });
  },
});
