// smsgw panel: small enhancements only; every page works without this file.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.textContent = "Copied";
    });
  }
});
// The menu is open in the page (so it shows without this file, and always on a wide
// screen, where its toggle is hidden); on a phone it starts folded.
const menu = document.querySelector("details.menu");
if (menu && window.matchMedia("(max-width: 899px)").matches) menu.removeAttribute("open");
