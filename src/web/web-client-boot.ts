// The script /chat/natter-client.js: starts Converse.js with the settings the page carries as JSON (a
// <script type="application/json">, so the Content-Security-Policy needs no 'unsafe-inline' for scripts).
// Plain browser JavaScript, served as is; a module script like Converse's own bundle (ES module since 12),
// so it runs after it, once the document is parsed.
export const WEB_CLIENT_BOOT_SCRIPT = `"use strict";
(function () {
  var cfg = JSON.parse(document.getElementById("natter-config").textContent);
  // Converse has no setting for its brand name: put the configured title where it shows "converse.js".
  function brand() {
    var names = document.querySelectorAll(".brand-name__text");
    for (var i = 0; i < names.length; i++) if (names[i].textContent !== cfg.title) names[i].textContent = cfg.title;
    var bylines = document.querySelectorAll(".brand-name .byline");
    for (var j = 0; j < bylines.length; j++) bylines[j].remove();
  }
  new MutationObserver(brand).observe(document.body, { childList: true, subtree: true });
  // Converse registers its elements only where none is defined yet (api.elements.register), so these two
  // replace its own: the full-screen navbar (links to converse.js' site, an "about" dialog loading sponsor
  // logos from conversejs.org) and the footer (the same logos) would fetch from another site.
  customElements.define("converse-controlbox-navbar", class extends HTMLElement {});
  customElements.define("converse-footer", class extends HTMLElement {
    connectedCallback() {
      if (this.firstChild) return;
      var p = document.createElement("p");
      p.className = "brand-subtitle subdued text-center py-3";
      p.textContent = "Web client: Converse.js (MPL-2.0), served by Natter";
      this.append(p);
    }
  });
  window.converse.initialize({
    assets_path: cfg.assetsPath,
    sounds_path: cfg.assetsPath + "/sounds/",
    // Twemoji images come from a CDN: draw emojis with the system's fonts instead, and point the image path
    // at our own copy so that nothing is ever fetched from elsewhere.
    use_system_emojis: true,
    emoji_image_path: cfg.assetsPath + "/images/",
    websocket_url: cfg.websocketUrl || undefined,
    bosh_service_url: cfg.boshUrl || undefined,
    // The URLs above are this server's own: no XEP-0156 lookup (it would ask the bare domain, port 443).
    discover_connection_methods: false,
    authentication: "login",
    auto_login: false,
    locked_domain: cfg.domain,
    muc_domain: cfg.mucDomain || undefined,
    allow_registration: false,
    // An organisation's users are known by their account name: join rooms under it without being asked.
    muc_nickname_from_jid: true,
    // Lists fetched from data.xmpp.net: not wanted on a server's own page (privacy, offline use).
    xmpp_providers_url: "",
    autocomplete_providers_url: "",
    // The "about" dialog loads sponsor logos from conversejs.org.
    show_client_info: false,
    view_mode: "fullscreen",
    theme: "default",
    play_sounds: false
  });
})();
`;
