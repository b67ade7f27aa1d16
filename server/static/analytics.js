// Rule analytics and trends: which rules fire most and how often officers found them wrong,
// flags to review one by one, and score and violation trends per team and flags per rule.

import { api, apiKey, rememberKey } from "/static/api.js";
import { lineChart } from "/static/chart.js";

const $ = (id) => document.getElementById(id);
const VERDICTS = { confirmed: "Confirmed", false_positive: "False positive" };

let reviewing = null; // the rule whose flags are listed for review

function useKey(event) {
  event.preventDefault();
  rememberKey($("api-key").value);
  $("choose").hidden = false;
  $("policy-id").focus();
}

function chosenFilter() {
  const filter = {};
  const text = (id) => $(id).value.trim();
  if (text("policy-id")) filter.policy_id = text("policy-id");
  if (text("policy-version")) filter.policy_version = text("policy-version");
  if (text("since")) filter.since = `${text("since")}T00:00:00Z`;
  if (text("until")) filter.until = `${text("until")}T00:00:00Z`;
  return filter;
}

function query(extra = {}) {
  return new URLSearchParams({ ...chosenFilter(), ...extra }).toString();
}

function failed(error) {
  $("analytics-error").textContent = error.message;
}

function percent(rate) {
  return rate === null ? "not reviewed yet" : `${Math.round(rate * 100)}%`;
}

async function showRules() {
  const rules = await api("GET", `/v1/analytics/rules?${query()}`);
  const body = $("rule-table").tBodies[0];
  body.replaceChildren();
  for (const rule of rules) {
    const row = body.insertRow();
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = rule.rule_id;
    row.append(name);
    for (const value of [rule.fired, rule.sessions, rule.withdrawn, rule.reviewed, rule.false_positives]) {
      row.insertCell().textContent = String(value);
    }
    row.insertCell().textContent = percent(rule.false_positive_rate);
    const review = document.createElement("button");
    review.type = "button";
    review.textContent = "Review flags";
    review.setAttribute("aria-label", `Review flags of ${rule.rule_id}`);
    review.addEventListener("click", () => showFlags(rule.rule_id, true));
    row.insertCell().append(review);
  }
  $("rules-status").textContent = rules.length
    ? `${rules.length} rule${rules.length === 1 ? "" : "s"} raised flags in these sessions.`
    : "No rule raised a flag in these sessions.";
  $("rules").hidden = false;
}

async function showFlags(ruleId, moveFocus) {
  $("analytics-error").textContent = "";
  try {
    reviewing = ruleId;
    const flags = await api("GET", `/v1/analytics/flags?${query({ rule_id: ruleId })}`);
    $("flag-caption").textContent = `Flags of ${ruleId}, newest first`;
    const body = $("flag-table").tBodies[0];
    body.replaceChildren();
    for (const flag of flags) {
      const row = body.insertRow();
      const words = document.createElement("th");
      words.scope = "row";
      words.textContent = flag.quote ?? "(no words: a session-level finding)";
      row.append(words);
      for (const value of [flag.detail ?? "", flag.learner ?? "", flag.raised_at]) {
        row.insertCell().textContent = value;
      }
      row.insertCell().textContent = flag.verdict ? VERDICTS[flag.verdict] : "not reviewed";
      const actions = row.insertCell();
      for (const [verdict, label] of Object.entries(VERDICTS)) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.setAttribute("aria-label", `${label}: "${flag.quote ?? flag.finding_id}" (${flag.raised_at})`);
        button.addEventListener("click", () => giveVerdict(flag, verdict));
        actions.append(button, " ");
      }
    }
    $("review-status").textContent = `${flags.length} flag${flags.length === 1 ? "" : "s"} of ${ruleId}.`;
    $("review").hidden = false;
    if (moveFocus) $("review-title").focus();
  } catch (error) {
    failed(error);
  }
}

async function giveVerdict(flag, verdict) {
  $("analytics-error").textContent = "";
  try {
    await api("POST", "/v1/flag-reviews", {
      session_id: flag.session_id,
      finding_id: flag.finding_id,
      verdict,
    });
    await showRules();
    await showFlags(reviewing, false);
    $("review-status").textContent = `Marked ${VERDICTS[verdict].toLowerCase()}: "${flag.quote ?? flag.finding_id}".`;
  } catch (error) {
    failed(error);
  }
}

function pointsOf(teams, pick) {
  return Object.entries(teams).map(([team, points]) => ({ name: team, values: points.map(pick) }));
}

async function showTrends() {
  const trends = await api("GET", `/v1/analytics/trends?${query({ bucket: $("bucket").value })}`);
  const charts = $("charts");
  charts.replaceChildren();
  if (!trends.buckets.length) {
    charts.textContent = "No session in this range.";
  } else {
    const period = { day: "day", week: "week", month: "month" }[trends.bucket];
    charts.append(
      lineChart({
        id: "chart-scores",
        title: `Mean score per team, by ${period}`,
        buckets: trends.buckets,
        series: pointsOf(trends.teams, (p) => p.mean_score),
        yLabel: "mean score",
        yMax: 1,
        digits: 2,
      }),
      lineChart({
        id: "chart-violations",
        title: `Violations per team, by ${period}`,
        buckets: trends.buckets,
        series: pointsOf(trends.teams, (p) => p.violations),
        yLabel: "violations",
      }),
      lineChart({
        id: "chart-rules",
        title: `Flags per rule, by ${period}`,
        buckets: trends.buckets,
        series: Object.entries(trends.rules).map(([rule, counts]) => ({ name: rule, values: counts })),
        yLabel: "flags",
      }),
    );
  }
  $("trends").hidden = false;
}

async function show(event) {
  event.preventDefault();
  $("analytics-error").textContent = "";
  $("review").hidden = true;
  try {
    await showRules();
    await showTrends();
  } catch (error) {
    failed(error);
  }
}

$("key-form").addEventListener("submit", useKey);
$("filter-form").addEventListener("submit", show);
$("api-key").value = apiKey();
