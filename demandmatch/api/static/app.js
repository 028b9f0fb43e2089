// The merchant's page: every call carries the pasted token; HTML parts come escaped from the
// server, and anything else is written with textContent.
"use strict";

const state = { token: sessionStorage.getItem("dm-token") || "", merchant: "" };
const $ = (id) => document.getElementById(id);

function say(text, bad) {
  const m = $("message");
  m.textContent = text;
  m.className = bad ? "bad" : "";
}

async function call(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      const body = await response.json();
      if (body.error) message = body.error.message + " (" + body.error.code + ")";
    } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

const base = () => "/api/v1/merchants/" + encodeURIComponent(state.merchant);
const ui = () => "/ui/merchants/" + encodeURIComponent(state.merchant);

async function part(path, target) {
  const response = await call(path);
  $(target).innerHTML = await response.text(); // server-rendered, autoescaped
}

async function refreshHistory() {
  $("history").hidden = false;
  await Promise.all([part(ui() + "/versions", "versions"), part(ui() + "/audit", "audit")]);
}

async function showPreview(id) {
  await part(ui() + "/imports/" + encodeURIComponent(id), "preview");
}

async function login(event) {
  if (event) event.preventDefault();
  const typed = $("token").value.trim();
  if (typed) state.token = typed;
  if (!state.token) return;
  try {
    const me = await (await call("/api/v1/me")).json();
    sessionStorage.setItem("dm-token", state.token);
    const merchants = await (await call("/api/v1/merchants")).json();
    const pick = $("merchant");
    pick.textContent = "";
    for (const m of merchants) {
      const option = document.createElement("option");
      option.value = m.merchant_id;
      option.textContent = m.merchant_id + (m.name ? " · " + m.name : "");
      pick.appendChild(option);
    }
    $("merchant-pick").hidden = !me.is_admin;
    state.merchant = me.merchant_id || (merchants[0] && merchants[0].merchant_id) || "";
    pick.value = state.merchant;
    $("who").textContent = me.is_admin ? "Signed in as the platform admin." :
      "Signed in as merchant " + me.merchant_id + " (token " + me.token_id + ").";
    $("upload").hidden = !state.merchant;
    $("preview").textContent = "";
    if (state.merchant) await refreshHistory();
  } catch (err) {
    $("who").textContent = err.message;
  }
}

function progress(job) {
  $("progress").hidden = false;
  const share = Math.round(100 * job.progress);
  $("progress-fill").style.width = share + "%";
  $("progress-text").textContent = job.stage + " · " + share + "%";
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("mode", $("mode").value);
  if ($("sheet").value.trim()) form.append("sheet", $("sheet").value.trim());
  say("Reading " + file.name + " ...");
  $("upload-button").disabled = true;
  try {
    const response = await call(base() + "/imports?limit=0", { method: "POST", body: form });
    const body = await response.json();
    let previewId = body.id;
    if (response.status === 202) {
      let job = body;
      while (job.status !== "done" && job.status !== "failed") {
        progress(job);
        await new Promise((r) => setTimeout(r, 300));
        job = await (await call(base() + "/jobs/" + encodeURIComponent(job.id))).json();
      }
      progress(job);
      if (job.status === "failed") throw new Error(job.error.message + " (" + job.error.code + ")");
      previewId = job.preview_id;
    }
    await showPreview(previewId);
    say("Preview ready: nothing has changed yet.");
    await refreshHistory();
  } catch (err) {
    say(err.message, true);
  } finally {
    $("upload-button").disabled = false;
  }
}

async function download(path, fallbackName) {
  const response = await call(path);
  const blob = await response.blob();
  const found = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = found ? found[1] : fallbackName;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function act(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const action = button.dataset.action;
  try {
    if (action === "apply") {
      const partial = $("allow-partial");
      const body = JSON.stringify({ allow_partial: Boolean(partial && partial.checked) });
      const result = await (await call(base() + "/imports/" + encodeURIComponent(button.dataset.preview) + "/apply",
        { method: "POST", body, headers: { "Content-Type": "application/json" } })).json();
      say(result.already_applied ? "Already applied as version " + result.version + "." :
        result.changed ? "Applied: version " + result.version + " is now current." :
        "Nothing to change: version " + result.version + " stays current.");
      await showPreview(button.dataset.preview);
      await refreshHistory();
    } else if (action === "rollback") {
      const body = JSON.stringify({ version: Number(button.dataset.version) });
      const result = await (await call(base() + "/catalog/rollback",
        { method: "POST", body, headers: { "Content-Type": "application/json" } })).json();
      say("Rolled back to version " + result.rolled_back_to + ": version " + result.version + " is now current.");
      await refreshHistory();
    } else if (action === "export") {
      await download(base() + "/catalog/export?format=csv&version=" + button.dataset.version, "catalog.csv");
    } else if (action === "download-rejected") {
      await download(base() + "/imports/" + encodeURIComponent(button.dataset.preview) + "/rejected.csv", "rejected.csv");
    }
  } catch (err) {
    say(err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", login);
  $("upload-form").addEventListener("submit", upload);
  $("merchant").addEventListener("change", async () => {
    state.merchant = $("merchant").value;
    $("upload").hidden = !state.merchant;
    $("preview").textContent = "";
    await refreshHistory();
  });
  document.body.addEventListener("click", act);
  if (state.token) login();
});
