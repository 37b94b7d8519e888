// A room's occupants indexed by real bare JID, in the room and across the service (max_rooms_per_user is
// checked on every join, so it must not scan every occupant of every room).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tryParseJid } from "../../core/jid.js";
import { mucOptions } from "./options.js";
import { Room } from "./room.js";
import { defaultConfig } from "./room-config.js";
import type { Occupant } from "./types.js";

const options = mucOptions.parse({});
const room = (local: string, index: Map<string, number>) => {
  const r = new Room(tryParseJid(`${local}@conference.example`) as NonNullable<ReturnType<typeof tryParseJid>>, defaultConfig(options), new Set(), options);
  r.roomsByBare = index;
  return r;
};
const occupant = (nick: string, bare: string): Occupant => ({ nick, bare, sessions: new Map(), role: "participant", occupantId: "", jid: bare });

describe("occupants by bare JID", () => {
  it("counts a user once per room, however many nicks, and forgets it when the last one leaves", () => {
    const index = new Map<string, number>();
    const a = room("a", index);
    const b = room("b", index);
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
    const index = new Map<string, number>();
    const a = room("a", index);
    a.addOccupant(occupant("Nick", "u@x"));
    a.deleteOccupant(occupant("Nick", "v@x"));
    assert.equal(index.get("u@x"), 1);
  });
});
