// smsgw inbox: live updates over server-sent events, and Ctrl+Enter to send a reply.
// Every page works without this file (reload to see what changed). The only HTML this file
// inserts is a fragment rendered by the box itself for this page, fetched from the same
// origin; event data is read as a list of ids and never turned into markup.
"use strict";
(() => {
  const region = document.querySelector("[data-live]");
  const status = document.querySelector("[data-live-status]");
  const say = (text) => { if (status) status.textContent = text; };

  const reply = document.getElementById("reply-body");
  if (reply) {
    reply.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        const send = reply.form.querySelector("[data-send]");
        if (send && !send.disabled) {
          event.preventDefault();
          reply.form.requestSubmit(send);
        }
      }
    });
  }

  if (!region || !window.EventSource || !window.fetch || !window.DOMParser) return;
  const fragmentUrl = new URL(region.getAttribute("data-fragment"), window.location.href);
  const eventsUrl = new URL(region.getAttribute("data-events"), window.location.href);
  if (fragmentUrl.origin !== window.location.origin || eventsUrl.origin !== window.location.origin) return;
  const only = region.getAttribute("data-conversation");
  let busy = false;
  let again = false;

  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(fragmentUrl, {
        credentials: "same-origin", headers: { Accept: "text/html" }, redirect: "error",
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.startsWith("text/html")) return;
      const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
      const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      region.replaceChildren(...parsed.body.childNodes);
      if (only && atBottom) window.scrollTo(0, document.body.scrollHeight);
    } catch (error) {
      say("Reconnecting…");
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  };

  const source = new EventSource(eventsUrl, { withCredentials: false });
  source.addEventListener("open", () => say("Live"));
  source.addEventListener("error", () => {
    // Closed for good (signed out, session expired): the page still works by reloading.
    say(source.readyState === EventSource.CLOSED ? "Live updates stopped: reload the page" : "Reconnecting…");
  });
  source.addEventListener("changed", (event) => {
    let ids = [];
    try { ids = JSON.parse(event.data).ids || []; } catch (error) { return; }
    if (!Array.isArray(ids)) return;
    if (only && !ids.includes(only)) return;
    refresh();
  });
})();
