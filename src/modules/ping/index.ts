// XEP-0199 XMPP Ping: the server answers pings addressed to it.
import { defineModule } from "../../core/modules.js";
import { NS_PING } from "../../core/xml/ns.js";

export default defineModule({
  name: "ping",
  specs: [{ xep: 199, version: "2.0.1", status: "complete" }],
  setup(ctx) {
    ctx.iq("host", "get", NS_PING, "ping", () => undefined);
  },
});
