// Counts over every room of a service, kept up to date by the rooms as occupants and owners change, so that
// the limits checked on every join or creation (max_rooms_per_user, max_owned_rooms) cost one lookup rather
// than a scan of every room.
export class ServiceCounts {
  /** Real bare JID → rooms it is an occupant of. */
  readonly occupied = new Map<string, number>();
  /** Bare JID → rooms it owns (stored affiliation). */
  readonly owned = new Map<string, number>();

  static add(map: Map<string, number>, key: string, delta: number): void {
    const n = (map.get(key) ?? 0) + delta;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  }
}
