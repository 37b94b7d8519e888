// A room's occupants indexed by real bare JID, in the room and across the service (max_rooms_per_user is
// checked on every join, so it must not scan every occupant of every room).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tryParseJid } from "../../core/jid.js";
import { mucOptions } from "./options.js";
import { Room } from "./room.js";
import { defaultConfig } from "./room-config.js";
import { ServiceCounts } from "./service-counts.js";
import type { Occupant } from "./types.js";

const options = mucOptions.parse({});
const room = (local: string, counts: ServiceCounts) => {
  const r = new Room(tryParseJid(`${local}@conference.example`) as NonNullable<ReturnType<typeof tryParseJid>>, defaultConfig(options), new Set(), options);
  r.attachCounts(counts);
  return r;
};
const occupant = (nick: string, bare: string): Occupant => ({ nick, bare, sessions: new Map(), role: "participant", occupantId: "", jid: bare });

describe("occupants by bare JID", () => {
  it("counts a user once per room, however many nicks, and forgets it when the last one leaves", () => {
    const counts = new ServiceCounts();
    const index = counts.occupied;
    const a = room("a", counts);
    const b = room("b", counts);
    const one = occupant("One", "u@x");
    const two = occupant("Two", "u@x");
    a.addOccupant(one);
    a.addOccupant(two);
    b.addOccupant(occupant("Three", "u@x"));
    assert.equal(index.get("u@x"), 2);
    assert.ok(a.hasOccupant("u@x"));
    a.deleteOccupant(one);
    assert.equal(index.get("u@x"), 2, "still in room a under another nick");
    a.deleteOccupant(two);
    assert.equal(index.get("u@x"), 1);
    assert.equal(a.hasOccupant("u@x"), false);
    assert.deepEqual(a.occupantsOf("u@x"), []);
    b.clearOccupants();
    assert.equal(index.has("u@x"), false);
  });

  it("ignores deleting an occupant that is not the one under its nick", () => {
    const counts = new ServiceCounts();
    const index = counts.occupied;
    const a = room("a", counts);
    a.addOccupant(occupant("Nick", "u@x"));
    a.deleteOccupant(occupant("Nick", "v@x"));
    assert.equal(index.get("u@x"), 1);
  });

  it("counts owned rooms through affiliation changes, and moves a room's counts when it is attached elsewhere", () => {
    const counts = new ServiceCounts();
    const a = room("a", counts);
    const b = room("b", counts);
    a.setAffiliation("u@x", "owner");
    b.setAffiliation("u@x", "owner");
    b.setAffiliation("u@x", "owner");
    assert.equal(counts.owned.get("u@x"), 2, "setting the same affiliation twice counts once");
    b.setAffiliation("u@x", "member");
    assert.equal(counts.owned.get("u@x"), 1);
    a.addOccupant(occupant("U", "u@x"));
    a.attachCounts(new ServiceCounts()); // the room leaves the service
    assert.equal(counts.owned.has("u@x"), false);
    assert.equal(counts.occupied.has("u@x"), false);
  });
});
