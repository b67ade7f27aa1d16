// The learner's page: pick a scenario, talk to the persona over the session's WebSocket, see
// flags on the exact words that raised them while typing, and end with the scorecard.
// No framework and no build step: the page talks to the same API as every other client.

import { api, apiKey, rememberKey } from "/static/api.js";

const $ = (id) => document.getElementById(id);

// --- choosing a scenario ------------------------------------------------------------------

async function showScenarios(event) {
  event.preventDefault();
  rememberKey($("api-key").value);
  $("setup-error").textContent = "";
  try {
    const scenarios = await api("GET", "/v1/scenarios");
    const select = $("scenario");
    select.replaceChildren();
    for (const item of scenarios) {
      const option = document.createElement("option");
      option.value = item.name;
      option.dataset.policy = item.policy_id;
      const ready = item.published_version !== null;
      option.disabled = !ready;
      option.textContent = `${item.title}: ${item.persona}` + (ready ? "" : " (policy not published yet)");
      select.append(option);
    }
    const firstReady = [...select.options].find((option) => !option.disabled);
    if (firstReady) firstReady.selected = true;
    $("scenario-form").hidden = false;
    select.focus();
  } catch (error) {
    $("setup-error").textContent = error.message;
  }
}

async function startSession(event) {
  event.preventDefault();
  const option = $("scenario").selectedOptions[0];
  if (!option || option.disabled) {
    $("setup-error").textContent = "Choose a scenario whose policy is published.";
    return;
  }
  try {
    const created = await api("POST", "/v1/sessions", {
      policy_id: option.dataset.policy,
      scenario: option.value,
    });
    $("setup").hidden = true;
    $("practice").hidden = false;
    connect(created.stream);
    $("line").focus();
  } catch (error) {
    $("setup-error").textContent = error.message;
  }
}

// --- the conversation ---------------------------------------------------------------------

let socket = null;
let lineNumber = 1;
let revision = 0;
let lastSent = "";
const utterances = new Map(); // utterance id -> {item, text, speaker, flags: Map(id -> finding)}
const hints = new Map(); // finding id -> coaching hint, shown on the flagged words too

function connect(streamPath) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}${streamPath}?access_token=${encodeURIComponent(apiKey())}`);
  socket.addEventListener("message", (message) => receive(JSON.parse(message.data)));
  socket.addEventListener("close", () => {
    $("line").disabled = true;
  });
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function currentId() {
  return `line-${lineNumber}`;
}

function typed() {
  const text = $("line").value;
  // A partial for each finished word, as a speech recogniser would send it.
  if (!/\s$/.test(text) || !text.trim() || text.trim() === lastSent) return;
  lastSent = text.trim();
  send({ type: "utterance.partial", utterance_id: currentId(), revision: revision++, text: lastSent });
}

function sendLine(event) {
  event.preventDefault();
  const text = $("line").value.trim();
  if (!text) return;
  send({ type: "utterance.final", utterance_id: currentId(), text });
  $("line").value = "";
  lineNumber += 1;
  revision = 0;
  lastSent = "";
}

function keyPressed(event) {
  if (event.key === "Enter" && !event.shiftKey) sendLine(event);
}

function utterance(id, speaker) {
  let entry = utterances.get(id);
  if (!entry) {
    const item = document.createElement("li");
    item.className = speaker;
    item.dataset.utterance = id;
    $("transcript").append(item);
    entry = { item, text: "", speaker, flags: new Map() };
    utterances.set(id, entry);
  }
  return entry;
}

function render(entry) {
  const name = entry.speaker === "learner" ? "You" : "Persona";
  const label = document.createElement("span");
  label.className = "speaker";
  label.textContent = `${name}:`;
  const pieces = [label];
  const spans = [...entry.flags.values()]
    .filter((finding) => finding.span && finding.span.end <= entry.text.length)
    .sort((a, b) => a.span.start - b.span.start);
  let at = 0;
  for (const finding of spans) {
    if (finding.span.start < at) continue; // overlapping flags: the first one marks the words
    pieces.push(document.createTextNode(entry.text.slice(at, finding.span.start)));
    const mark = document.createElement("mark");
    mark.className = "flag";
    mark.dataset.rule = finding.rule_id;
    const hint = hints.get(finding.finding_id);
    mark.title = `${finding.rule_id} (${finding.severity}): ${finding.detail}` + (hint ? `. ${hint}` : "");
    mark.textContent = entry.text.slice(finding.span.start, finding.span.end);
    pieces.push(mark);
    at = finding.span.end;
  }
  pieces.push(document.createTextNode(entry.text.slice(at)));
  entry.item.replaceChildren(...pieces);
}

function receive(message) {
  if (message.type === "error") {
    $("practice-error").textContent = message.error.message;
    return;
  }
  const event = message.event;
  switch (event.type) {
    case "utterance.partial":
    case "utterance.final": {
      const entry = utterance(event.utterance_id, event.speaker);
      entry.text = event.text;
      entry.item.classList.toggle("draft", event.type === "utterance.partial");
      render(entry);
      break;
    }
    case "persona.delta": {
      const entry = utterance(event.utterance_id, "persona");
      entry.text += event.delta;
      render(entry);
      break;
    }
    case "persona.final": {
      const entry = utterance(event.utterance_id, "persona");
      entry.text = event.text;
      render(entry);
      break;
    }
    case "flag.raised": {
      const finding = event.finding;
      if (!finding.utterance_id) break;
      const entry = utterances.get(finding.utterance_id);
      if (!entry) break;
      entry.flags.set(finding.finding_id, finding);
      render(entry);
      break;
    }
    case "flag.retracted": {
      for (const entry of utterances.values()) {
        if (entry.flags.delete(event.finding_id)) render(entry);
      }
      break;
    }
    case "coaching.hint": {
      hints.set(event.finding_id, event.text);
      const hint = document.createElement("li");
      hint.textContent = event.text;
      $("coaching").append(hint);
      for (const entry of utterances.values()) {
        if (entry.flags.has(event.finding_id)) render(entry);
      }
      break;
    }
    case "score.computed":
      showScorecard(event.scorecard);
      break;
    case "session.ended":
      $("line").disabled = true;
      $("scorecard").hidden = false;
      break;
  }
}

// --- the scorecard ------------------------------------------------------------------------

function evidenceList(items) {
  const list = document.createElement("ul");
  for (const item of items) {
    const entry = document.createElement("li");
    const where = item.turn ? `turn ${item.turn}: ` : "";
    const quote = item.quote ? `"${item.quote}" ` : "";
    entry.textContent = `${where}${quote}${item.rule_id} ${item.outcome}. ${item.note}`;
    list.append(entry);
  }
  return list;
}

function showScorecard(card) {
  const percent = (value) => `${Math.round(value * 100)}%`;
  $("verdict").textContent =
    `${card.passed ? "Passed" : "Not passed"}: ${percent(card.score)} (pass mark ${percent(card.pass_mark)}).`;
  const blockers = $("blockers");
  blockers.replaceChildren();
  if (card.blockers_breached.length) {
    const heading = document.createElement("h3");
    heading.textContent = "Blockers breached";
    blockers.className = "blocker";
    blockers.append(heading, evidenceList(card.blockers_breached));
  }
  const body = $("criteria").tBodies[0];
  body.replaceChildren();
  for (const criterion of card.criteria) {
    const row = body.insertRow();
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = criterion.title || criterion.id;
    row.append(name);
    row.insertCell().textContent = criterion.evaluated ? percent(criterion.score) : "not evaluated";
    row.insertCell().append(evidenceList(criterion.evidence));
  }
  $("scorecard").hidden = false;
}

$("key-form").addEventListener("submit", showScenarios);
$("scenario-form").addEventListener("submit", startSession);
$("say-form").addEventListener("submit", sendLine);
$("line").addEventListener("input", typed);
$("line").addEventListener("keydown", keyPressed);
$("end").addEventListener("click", () => send({ type: "session.end" }));
$("api-key").value = apiKey();
