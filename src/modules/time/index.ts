// XEP-0202 Entity Time of the server.
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_TIME } from "../../core/xml/ns.js";
import { formatTzo, formatUtc } from "./codec.js";

export default defineModule({
  name: "time",
  specs: [{ xep: 202, version: "2.0", status: "complete" }],
  setup(ctx) {
    ctx.iq("host", "get", NS_TIME, "time", () => {
      const now = new Date();
      const t = new Element("time", NS_TIME);
      t.c("tzo").t(formatTzo(now.getTimezoneOffset()));
      t.c("utc").t(formatUtc(now));
      return t;
    });
  },
});
