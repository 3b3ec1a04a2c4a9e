// yeko-sql studio: forms sent with fetch into a target element, and a poll
// that follows edits of the query files. No library, no network beyond the
// studio itself.
"use strict";

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const button = event.submitter;
  if (button && button.dataset.download) return; // a normal POST: the browser downloads
  const target = (button && button.dataset.target) || form.dataset.target;
  if (!target) return;
  event.preventDefault();
  const action = (button && button.getAttribute("formaction")) || form.getAttribute("action");
  const into = document.querySelector(target);
  into.classList.add("busy");
  try {
    const answer = await fetch(action, {
      method: "POST",
      body: new FormData(form, button),
      credentials: "same-origin",
    });
    const text = await answer.text();
    if ((answer.headers.get("content-type") || "").startsWith("text/html")) {
      into.innerHTML = text;
    } else {
      into.textContent = text;
    }
  } catch (error) {
    into.textContent = "the studio did not answer: " + error;
  } finally {
    into.classList.remove("busy");
  }
});

// A :keyset page's "next page": fill the seek parameters from the last row, run.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-fill]");
  if (!button) return;
  const form = document.getElementById("run-form");
  for (const [name, value] of Object.entries(JSON.parse(button.dataset.fill))) {
    const input = form.elements.namedItem(name);
    if (input) input.value = value;
    const nulled = form.elements.namedItem("null:" + name.slice(2));
    if (nulled) nulled.checked = false;
  }
  document.getElementById("run").click();
});

const shown = document.querySelector('meta[name="generation"]');
let generation = shown ? Number(shown.content) : 0;

async function follow() {
  try {
    const answer = await fetch("/api/generation", { credentials: "same-origin" });
    const state = await answer.json();
    if (state.generation !== generation) {
      generation = state.generation;
      if (location.pathname === "/") {
        location.reload();
        return;
      }
      const box = document.getElementById("load-errors");
      box.innerHTML = "";
      for (const message of state.errors) {
        const line = document.createElement("div");
        line.className = "load-error";
        line.textContent = "load error: " + message;
        box.appendChild(line);
      }
      const note = document.createElement("div");
      note.className = "changed";
      note.innerHTML = 'query files changed: <a href="">reload this page</a>';
      box.appendChild(note);
    }
  } catch (error) {
    // the studio stopped: keep the page as it is
  }
  setTimeout(follow, 1000);
}
setTimeout(follow, 1000);
