// XEP-0092 Software Version of the server.
import os from "node:os";
import { z } from "zod";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_VERSION } from "../../core/xml/ns.js";

const options = z
  .object({
    /** Include the operating system (XEP-0092 §4 notes it can help attackers; off by default). */
    show_os: z.boolean().default(false),
  })
  .strict();

export default defineModule({
  name: "version",
  specs: [{ xep: 92, version: "1.1", status: "complete" }],
  options,
  setup(ctx) {
    ctx.iq("host", "get", NS_VERSION, "query", () => {
      const q = new Element("query", NS_VERSION);
      q.c("name").t("Natter");
      q.c("version").t(ctx.version);
      if (ctx.options.show_os) q.c("os").t(`${os.type()} ${os.release()}`);
      return q;
    });
  },
});
