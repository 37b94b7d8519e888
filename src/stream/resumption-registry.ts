// Sessions that can be resumed (XEP-0198 §5), by resumption id. One per server.
import type { ClientSession } from "./client-session.js";

export class ResumptionRegistry {
  private readonly byId = new Map<string, ClientSession>();

  add(id: string, session: ClientSession): void {
    this.byId.set(id, session);
  }

  get(id: string): ClientSession | undefined {
    return this.byId.get(id);
  }

  remove(id: string, session: ClientSession): void {
    if (this.byId.get(id) === session) this.byId.delete(id);
  }
}
