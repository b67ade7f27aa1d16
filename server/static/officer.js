// The compliance officer's page: write a policy with the service's own checks shown as they
// type (the same schema and linter as `proctor policy lint`), save it as a draft, publish it.

import { api, apiKey, rememberKey } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const CHECK_DELAY_MS = 300;

let checkTimer = null;
let checkedText = null;
let saved = null; // {policy_id, version} of the draft saved from the current text

function useKey(event) {
  event.preventDefault();
  rememberKey($("api-key").value);
  $("editor").hidden = false;
  $("policy-source").focus();
}

function edited() {
  saved = null;
  $("publish").disabled = true;
  $("saved").textContent = "";
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, CHECK_DELAY_MS);
}

async function check() {
  const source = $("policy-source").value;
  if (!source.trim()) {
    $("check-status").textContent = "";
    $("issues").replaceChildren();
    return;
  }
  try {
    const report = await api("POST", "/v1/policies/lint", { source });
    if ($("policy-source").value !== source) return; // typed on meanwhile: a newer check follows
    checkedText = source;
    showIssues(report);
  } catch (error) {
    $("editor-error").textContent = error.message;
  }
}

function showIssues(report) {
  const errors = report.issues.filter((issue) => issue.level === "error").length;
  const warnings = report.issues.length - errors;
  $("check-status").textContent = report.valid
    ? `No errors: ${report.policy_id} version ${report.version} can be saved` +
      (warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""}).` : ".")
    : `${errors} error${errors > 1 ? "s" : ""} to fix before saving.`;
  const list = $("issues");
  list.replaceChildren();
  for (const issue of report.issues) {
    const item = document.createElement("li");
    item.className = issue.level;
    item.dataset.line = issue.line;
    const where = issue.field ? ` ${issue.field}` : "";
    item.textContent = `${issue.level}: line ${issue.line}, column ${issue.column},${where}: ${issue.message}`;
    list.append(item);
  }
  $("save").disabled = !report.valid;
}

async function save(event) {
  event.preventDefault();
  $("editor-error").textContent = "";
  try {
    const stored = await api("POST", "/v1/policies", { source: $("policy-source").value });
    saved = { policy_id: stored.policy_id, version: stored.version };
    $("saved").textContent = `Saved ${stored.policy_id} version ${stored.version} as a draft.`;
    $("publish").disabled = false;
  } catch (error) {
    $("editor-error").textContent = error.message;
  }
}

async function publish() {
  if (!saved) return;
  $("editor-error").textContent = "";
  try {
    const path = `/v1/policies/${encodeURIComponent(saved.policy_id)}/versions/${saved.version}/publish`;
    const published = await api("POST", path);
    $("saved").textContent =
      `Published ${published.policy_id} version ${published.version}, digest ${published.digest}.`;
    $("publish").disabled = true;
  } catch (error) {
    $("editor-error").textContent = error.message;
  }
}

$("key-form").addEventListener("submit", useKey);
$("policy-source").addEventListener("input", edited);
$("policy-form").addEventListener("submit", save);
$("publish").addEventListener("click", publish);
$("api-key").value = apiKey();
