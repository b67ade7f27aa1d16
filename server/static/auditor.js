// The auditor's page: list sessions by filter, open one (its report and the verifier's verdict
// on its records), export their signed evidence as a bundle, and verify a bundle (this one or
// any other) against the service's keys.

import { api, apiKey, apiResponse, rememberKey } from "/static/api.js";

const $ = (id) => document.getElementById(id);

function useKey(event) {
  event.preventDefault();
  rememberKey($("api-key").value);
  $("sessions").hidden = false;
  $("verify").hidden = false;
  $("learner").focus();
}

function chosenFilter() {
  const filter = {};
  const text = (id) => $(id).value.trim();
  if (text("learner")) filter.learner = text("learner");
  if (text("policy-id")) filter.policy_id = text("policy-id");
  if (text("policy-version")) filter.policy_version = Number(text("policy-version"));
  if (text("since")) filter.since = `${text("since")}T00:00:00Z`;
  if (text("until")) filter.until = `${text("until")}T00:00:00Z`;
  return filter;
}

function failed(error) {
  $("auditor-error").textContent = error.message;
}

async function listSessions(event) {
  event.preventDefault();
  $("auditor-error").textContent = "";
  try {
    const query = new URLSearchParams(chosenFilter()).toString();
    const sessions = await api("GET", `/v1/sessions${query ? `?${query}` : ""}`);
    const body = $("session-table").tBodies[0];
    body.replaceChildren();
    for (const session of sessions) {
      const row = body.insertRow();
      const id = document.createElement("th");
      id.scope = "row";
      id.textContent = session.session_id;
      row.append(id);
      for (const value of [
        session.learner ?? "",
        `${session.policy.id} v${session.policy.version}`,
        session.scenario ?? "",
        session.started_at,
        session.ended_at ?? "running",
        String(session.records),
      ]) {
        row.insertCell().textContent = value;
      }
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = "Open";
      open.setAttribute("aria-label", `Open session ${session.session_id}`);
      open.addEventListener("click", () => openSession(session.session_id));
      row.insertCell().append(open);
    }
    $("session-table").hidden = sessions.length === 0;
    $("listed").textContent = `${sessions.length} session${sessions.length === 1 ? "" : "s"} found.`;
  } catch (error) {
    failed(error);
  }
}

function listProblems(list, problems) {
  list.replaceChildren();
  for (const problem of problems) {
    const item = document.createElement("li");
    item.textContent = `${problem.code}: ${problem.message}`;
    list.append(item);
  }
}

// The report is the bundle's own page: no script, shown in a sandboxed frame.
async function openSession(sessionId) {
  $("auditor-error").textContent = "";
  try {
    const evidence = await api("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/evidence`);
    const check = evidence.verification;
    $("session-view-title").textContent = `Session ${sessionId}`;
    $("session-verdict").textContent = check.ok
      ? `Records verified: ${check.records_checked} records signed by key ${check.keyids.join(", ")}.`
      : `Records do not verify: ${check.problems.length} problem(s) found.`;
    listProblems($("session-problems"), check.problems);
    $("session-report").title = `Report of session ${sessionId}`;
    $("session-report").srcdoc = evidence.report_html;
    $("session-report").hidden = !evidence.report_html;
    $("session-view").hidden = false;
    $("session-view-title").focus();
  } catch (error) {
    failed(error);
  }
}

async function exportSessions() {
  $("auditor-error").textContent = "";
  try {
    const response = await apiResponse("POST", "/v1/audit/exports", { json: chosenFilter() });
    const disposition = response.headers.get("content-disposition") || "";
    const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || "proctor-audit.zip";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.textContent = `Download ${name}`;
    const records = response.headers.get("x-proctor-records");
    const sessions = response.headers.get("x-proctor-sessions");
    $("exported").replaceChildren(
      document.createTextNode(`Bundle of ${records} records from ${sessions} session(s): `),
      link,
    );
  } catch (error) {
    failed(error);
  }
}

async function verifyBundle(event) {
  event.preventDefault();
  $("auditor-error").textContent = "";
  const file = $("bundle").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("bundle", file, file.name);
  try {
    const report = await (await apiResponse("POST", "/v1/audit/verifications", { form })).json();
    $("verdict").textContent = report.ok
      ? `Verified: ${report.records_checked} records, ${report.sessions} session(s), signed by key ${report.keyids.join(", ")}.`
      : `Not valid evidence: ${report.problems.length} problem(s) found.`;
    listProblems($("problems"), report.problems);
  } catch (error) {
    failed(error);
  }
}

$("key-form").addEventListener("submit", useKey);
$("filter-form").addEventListener("submit", listSessions);
$("export").addEventListener("click", exportSessions);
$("verify-form").addEventListener("submit", verifyBundle);
$("api-key").value = apiKey();
