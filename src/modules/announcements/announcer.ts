// What an announcement does, once: to everyone online, or as the message of the day (stored, sent now, and at
// login to whoever has not seen this version). The message addresses (index.ts) and administration
// (admin/administration.ts through HostAnnouncements) both use it.
import type { HostAnnouncements } from "../../admin/admin-parts.js";
import type { ModuleContext } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import type { SessionRegistry } from "../../core/session-registry.js";
import type { KeyValueStore } from "../../storage/types.js";
import { type AnnouncementPart, buildAnnouncement, motdFromJson, motdToJson, newMotd } from "./codec.js";

export class Announcer implements HostAnnouncements {
  constructor(
    readonly host: string,
    /** user "": the host's one MOTD. */
    private readonly motdStore: KeyValueStore,
    /** Per user: id of the MOTD version they were sent. */
    private readonly seenStore: KeyValueStore,
    private readonly sessions: SessionRegistry,
    private readonly router: Pick<ModuleContext, "deliver">,
  ) {}

  /** Available resources of this host now (RFC 6121 "available resource": has sent initial presence). */
  private online(): Session[] {
    return [...this.sessions.ofHost(this.host)].filter((s) => s.available);
  }

  private send(session: Session, parts: AnnouncementPart[]): Promise<boolean> {
    return this.router.deliver(session, buildAnnouncement(this.host, session.jid.toString(), parts));
  }

  async announceParts(parts: AnnouncementPart[]): Promise<number> {
    const online = this.online();
    for (const s of online) await this.send(s, parts);
    return online.length;
  }

  /**
   * A new version: stored first (it must survive a restart), then, with `sendNow`, sent to everyone online, who
   * are marked as having seen it so that their next login does not repeat it. Without, each user gets it at
   * their next login, once.
   */
  async setMotdParts(parts: AnnouncementPart[], sendNow: boolean): Promise<void> {
    const motd = newMotd(parts);
    await this.motdStore.set("", motdToJson(motd));
    if (!sendNow) return;
    for (const s of this.online()) {
      await this.seenStore.set(s.jid.local, motd.id);
      await this.send(s, motd.parts);
    }
  }

  async deleteMotd(): Promise<void> {
    await this.motdStore.delete("");
    // The markers name versions that no longer exist; drop them rather than keep them forever.
    for (const user of await this.seenStore.users()) await this.seenStore.delete(user);
  }

  /** At login: the MOTD, once per version. */
  async greet(session: Session): Promise<void> {
    const motd = motdFromJson(await this.motdStore.get(""));
    if (!motd) return;
    const user = session.jid.local;
    if ((await this.seenStore.get(user)) === motd.id) return;
    await this.seenStore.set(user, motd.id);
    await this.send(session, motd.parts);
  }

  announce(body: string, subject?: string): Promise<number> {
    return this.announceParts(partsOf(body, subject));
  }

  async motd(): Promise<string | undefined> {
    const motd = motdFromJson(await this.motdStore.get(""));
    if (!motd) return undefined;
    const bodies = motd.parts.filter((p) => p.kind === "body");
    return bodies.length === 0 ? undefined : bodies.map((p) => p.text).join("\n");
  }

  setMotd(body: string): Promise<void> {
    return this.setMotdParts(partsOf(body), true);
  }
}

function partsOf(body: string, subject?: string): AnnouncementPart[] {
  const parts: AnnouncementPart[] = [];
  if (subject !== undefined && subject !== "") parts.push({ kind: "subject", text: subject });
  parts.push({ kind: "body", text: body });
  return parts;
}
