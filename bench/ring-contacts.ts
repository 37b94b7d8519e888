// The presence scenario's roster shape, shared by the roster writers of all three servers
// (bench/provision-rosters.ts for Natter, writeProsodyRosters, loadEjabberdRosters) and the scenario itself.
//
// Account i (1..count) has the `contacts` accounts nearest to it on a ring as contacts (contacts/2 on each
// side), all with subscription "both": the relation is symmetric, so every item has its mirror.

/** The 1-based account numbers of account `i`'s contacts: contacts/2 either side on a ring of `count`. */
export function ringContacts(i: number, count: number, contacts: number): number[] {
  const half = Math.floor(contacts / 2);
  const out: number[] = [];
  for (let d = 1; d <= half; d++) {
    out.push(((i - 1 + d) % count) + 1);
    out.push(((i - 1 - d + count) % count) + 1);
  }
  return out;
}

/** Refuses a shape the ring cannot hold: an odd count, or as many contacts as accounts. */
export function checkRingShape(count: number, contacts: number): void {
  if (contacts % 2 !== 0 || contacts >= count) {
    throw new Error(`presence rosters: contacts (${contacts}) must be even and below the account count (${count})`);
  }
}
