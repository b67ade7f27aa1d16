// The compliance officer's page: write a policy with the service's own checks shown as they
// type (the same schema and linter as `proctor policy lint`), save it as a draft, run its
// fixture tests, publish it.

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
  $("fixtures").hidden = true;
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
    $("fixtures").hidden = false;
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

async function runFixtures(event) {
  event.preventDefault();
  if (!saved) return;
  $("editor-error").textContent = "";
  const fixtures = {};
  for (const file of $("fixture-files").files) fixtures[file.name] = await file.text();
  const path = `/v1/policies/${encodeURIComponent(saved.policy_id)}/versions/${saved.version}/test`;
  try {
    showFixtureReport(await api("POST", path, { fixtures }));
  } catch (error) {
    const located = error.issues.map(
      (issue) => `${issue.source}:${issue.line}:${issue.column}: ${issue.field ? `${issue.field}: ` : ""}${issue.message}`,
    );
    $("editor-error").textContent = [error.message, ...located].join("; ");
  }
}

function showFixtureReport(report) {
  const failed = report.fixtures.filter((fixture) => !fixture.passed).length;
  $("fixtures-verdict").textContent = report.passed
    ? `All ${report.fixtures.length} fixture(s) passed.`
    : `${failed} of ${report.fixtures.length} fixture(s) failed.`;
  const body = $("fixture-results").tBodies[0];
  body.replaceChildren();
  for (const fixture of report.fixtures) {
    const row = body.insertRow();
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = `${fixture.name} (${fixture.file})`;
    row.append(name);
    row.insertCell().textContent = fixture.passed ? "passed" : "failed";
    const differences = document.createElement("ul");
    for (const mismatch of fixture.mismatches) {
      const item = document.createElement("li");
      item.textContent = mismatch.message;
      differences.append(item);
    }
    row.insertCell().append(differences);
  }
  $("fixture-results").hidden = false;
  const unexercised = report.coverage.unexercised_rules;
  $("coverage").textContent = unexercised.length
    ? `Rules no fixture exercises: ${unexercised.join(", ")}.`
    : "Every rule is exercised by a fixture.";
}

$("key-form").addEventListener("submit", useKey);
$("fixtures-form").addEventListener("submit", runFixtures);
$("policy-source").addEventListener("input", edited);
$("policy-form").addEventListener("submit", save);
$("publish").addEventListener("click", publish);
$("api-key").value = apiKey();
