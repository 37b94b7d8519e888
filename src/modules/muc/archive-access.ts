// Who may read a room's archive (XEP-0313 §5: a MUC archive follows the room's own access rules). Used by the
// MAM module for queries on room JIDs through MucService.mayQueryArchive.
import type { Jid } from "../../core/jid.js";
import type { Room } from "./room.js";

export function mayQueryRoomArchive(room: Room, requester: Jid): boolean {
  if (room.locked || !room.config.logging) return false;
  const bare = requester.bareString();
  const affiliation = room.affiliationOf(bare);
  if (affiliation === "outcast") return false;
  if (affiliation === "owner" || affiliation === "admin" || affiliation === "member") return true;
  if (room.config.membersOnly) return false;
  // Open rooms: anyone who could enter; behind a password, only those who did enter.
  if (room.config.password !== "") return room.occupantBySession(requester.toString()) !== undefined;
  return true;
}
