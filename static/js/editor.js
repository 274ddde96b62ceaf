/* The annotator's editor: autosave with conflict detection, a copy on this device,
   live checks, counts, the correct-task diff, conversation turns and shortcuts.
   The page works without it: every button is a plain form. */
(function () {
  "use strict";
  const stateEl = document.getElementById("editor-state");
  if (!stateEl) return;
  const S = JSON.parse(stateEl.textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("editor-form");
  const list = $("turn-list");
  const baseInput = $("base-revision");
  const statusEl = $("save-status");
  const storeKey = "scriptorium:draft:" + S.item;
  const csrf = (() => {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; } catch (e) { return ""; }
  })();
  // The one version token: the item's ``revision`` as the API returns it, sent back as
  // base_revision; every save answers the next one.
  let base = S.revision || 0;
  const tokenOf = (data) => (data.revision !== undefined ? data.revision : data.base_revision);
  const hasToken = (data) => tokenOf(data) !== undefined && data.messages !== undefined;
  const sameText = (a, b) => JSON.stringify((a || []).map((m) => [m.role, m.content])) === JSON.stringify((b || []).map((m) => [m.role, m.content]));
  let saving = false, again = false, conflict = null, submitting = false, timer = null;

  function messages() {
    return Array.from(list.querySelectorAll(".turn")).map((li) => ({
      role: li.querySelector("[name=role]").value,
      content: li.querySelector("[name=content]").value.replace(/\r\n/g, "\n"),
    }));
  }
  let lastSaved = JSON.stringify(messages());
  window.scriptoriumEditor = { json: () => JSON.stringify(messages()), messages: messages };
  // The live checks send what is typed so far (set here, not in an hx-vals expression:
  // the Content-Security-Policy allows no eval).
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt && event.detail.elt.hasAttribute("data-send-messages")) {
      event.detail.parameters.messages = JSON.stringify(messages());
    }
  });

  const hhmm = (iso) => {
    const d = iso ? new Date(iso) : new Date();
    // 24-hour HH:MM like the server's |time:"H:i", in the browser's time zone.
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  };
  let savedLabel = S.savedAt ? "Saved " + hhmm(S.savedAt) : "Not edited yet";
  function setStatus(text, tone) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = "save-status" + (tone ? " " + tone : "");
  }
  function api(method, url, body, keepalive) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /* Active editing time: seconds with the page focused and typing in the last 30 s,
     sent with each save and submit (the server caps it at the time that passed). */
  let activeSeconds = 0, lastTyped = 0;
  const ACTIVE_WINDOW = 30000;
  if (S.editable) {
    setInterval(() => {
      if (document.hasFocus() && Date.now() - lastTyped < ACTIVE_WINDOW) activeSeconds += 1;
    }, 1000);
  }
  function takeActive() { const n = activeSeconds; activeSeconds = 0; return n; }
  function giveBackActive(n) { activeSeconds += n; }

  /* A copy on this device, so a crash or a lost connection never loses a word. */
  function keepLocal() {
    try { localStorage.setItem(storeKey, JSON.stringify({ base: base, messages: messages(), at: Date.now() })); } catch (e) { /* full or private */ }
  }
  function clearLocal() { try { localStorage.removeItem(storeKey); } catch (e) { /* ignore */ } }

  async function save(keepalive) {
    if (!S.editable || conflict) return;
    const msgs = messages();
    const text = JSON.stringify(msgs);
    if (saving) { again = true; return; }
    if (text === lastSaved) { setStatus(savedLabel, "ok"); return; } // changed, then changed back
    saving = true;
    setStatus("Saving…");
    const active = takeActive();
    let counted = false;
    try {
      const r = await api("PUT", S.urls.draft, { messages: msgs, base_revision: base, active_seconds: active }, keepalive);
      const data = await r.json().catch(() => ({}));
      counted = r.ok;
      if (r.ok) {
        base = tokenOf(data); baseInput.value = base; lastSaved = text;
        if (JSON.stringify(messages()) === text) clearLocal();
        savedLabel = "Saved " + hhmm(data.saved_at);
        setStatus(savedLabel, "ok");
        showLease(data.lease_expires_at);
        if (data.guideline && !pendingAck) showGuideline(data.guideline);
        else if (data.guideline === null && pendingAck) { pendingAck = null; $("guideline-changed").hidden = true; } // acknowledged elsewhere
        if (S.draftHidden && data.model_draft !== undefined) revealDraft(data.model_draft);
      } else if (r.status === 409 && hasToken(data)) {
        if (!showConflict(data, msgs)) { lastSaved = text; savedLabel = "Saved " + hhmm(data.saved_at); setStatus(savedLabel, "ok"); }
      } else if (r.status === 409) {
        showLost(data.detail);
      } else {
        setStatus("Not saved: " + (data.detail || "error " + r.status), "bad");
      }
    } catch (e) {
      setStatus("Offline: kept on this device, retrying…", "warn");
      clearTimeout(timer); timer = setTimeout(save, 5000);
    } finally {
      if (!counted) giveBackActive(active);
      saving = false;
      if (again) { again = false; save(); }
    }
  }
  function changed() {
    keepLocal();
    setStatus("Unsaved changes…");
    clearTimeout(timer);
    timer = setTimeout(save, 800);
    refresh();
    document.body.dispatchEvent(new CustomEvent("editor-changed"));
  }

  function showLease(iso) {
    const el = $("lease");
    if (el && iso) el.textContent = "held until " + hhmm(iso);
  }
  // In the browser's time zone from the first paint, as every later update is.
  showLease(S.leaseExpiresAt);
  /* Another tab or device saved since. Two identical texts are no conflict (a reload
     whose keep-alive save landed late): take the stored version's token and say
     nothing. Returns whether the person has to choose. */
  function showConflict(data, mine) {
    if (sameText(data.messages, mine || messages())) {
      base = tokenOf(data); baseInput.value = base;
      return false;
    }
    conflict = data;
    $("conflict-title").textContent = "This item was saved from another tab or device.";
    $("conflict-detail").textContent = data.saved_at ? "The other version was saved at " + hhmm(data.saved_at) + ". Which text do you want to keep?" : "Which text do you want to keep?";
    $("conflict-text").textContent = (data.messages || []).filter((m) => m.role !== "system").map((m) => m.role + ": " + m.content).join("\n\n");
    $("keep-mine").hidden = $("use-theirs").hidden = false;
    $("conflict").hidden = false;
    setStatus("Not saved: choose a version", "bad");
    return true;
  }
  function showLost(detail) {
    $("conflict-title").textContent = "You no longer hold this item.";
    $("conflict-detail").textContent = detail || "";
    $("conflict-text").textContent = "";
    $("keep-mine").hidden = $("use-theirs").hidden = true;
    $("conflict").hidden = false;
    setStatus("Not saved: your text stays here and on this device", "bad");
  }
  $("keep-mine").addEventListener("click", () => {
    base = tokenOf(conflict); baseInput.value = base; conflict = null;
    $("conflict").hidden = true; lastSaved = ""; save();
  });
  $("use-theirs").addEventListener("click", () => {
    setMessages(conflict.messages || []);
    base = tokenOf(conflict); baseInput.value = base; lastSaved = JSON.stringify(messages());
    conflict = null; $("conflict").hidden = true; clearLocal(); setStatus("Loaded the saved version", "ok"); refresh();
  });

  /* New guidelines published while the item is held: shown before submit, which waits
     until the annotator acknowledges them (the server refuses it until then). */
  let pendingAck = S.guideline || null;
  function showGuideline(g) {
    const box = $("guideline-changed");
    if (!box || !g) return;
    pendingAck = g;
    $("guideline-changed-title").textContent = "The guidelines changed while you held this item: version " + g.version +
      (g.previous ? " replaces version " + g.previous + ", which you acknowledged." : ".");
    const pre = $("guideline-diff");
    pre.replaceChildren();
    (g.changes || []).forEach((line) => {
      const span = document.createElement("span");
      span.className = line[0] === "+" ? "ins" : line[0] === "-" ? "del" : "muted";
      span.textContent = line;
      pre.append(span, document.createTextNode("\n"));
    });
    pre.hidden = !(g.changes || []).length;
    box.hidden = false;
  }
  const ackForm = $("guideline-ack-form");
  if (ackForm) ackForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await api("POST", S.urls.acknowledge);
      if (!r.ok) { setStatus("Could not acknowledge the guidelines (error " + r.status + ").", "bad"); return; }
      const version = pendingAck ? pendingAck.version : "";
      pendingAck = null;
      $("guideline-changed").hidden = true;
      setStatus("Guidelines version " + version + " acknowledged: you can submit.", "ok");
    } catch (err) { setStatus("The server could not be reached; try again.", "warn"); }
  });

  /* Anchoring guard: an answer written before seeing the model's draft; the first save
     shows the draft beside it, for reference. */
  function revealDraft(text) {
    S.draftHidden = false;
    S.modelDraft = text;
    const note = $("blind-note"); if (note) note.hidden = true;
    const ref = $("model-draft-reference");
    if (ref) { $("model-draft-text").textContent = text; ref.hidden = false; }
  }

  /* Turns ------------------------------------------------------------------------- */
  const conversation = S.taskType === "conversation" && S.editable;
  const placeholder = { assistant: "Write the answer…", user: "Write the user's message…", system: "System prompt (optional)…" };
  function makeTurn(role, content) {
    const li = document.createElement("li");
    li.className = "turn role-" + role;
    li.dataset.locked = "0";
    li.dataset.counted = "1";
    li.innerHTML = '<div class="turn-head"><select name="role" class="role-select" aria-label="Role">' +
      ["system", "user", "assistant"].map((r) => '<option value="' + r + '">' + r[0].toUpperCase() + r.slice(1) + "</option>").join("") +
      '</select><span class="turn-tools"><button type="button" class="tool" data-action="up" title="Move up" aria-label="Move turn up">↑</button>' +
      '<button type="button" class="tool" data-action="down" title="Move down" aria-label="Move turn down">↓</button>' +
      '<button type="button" class="tool danger" data-action="remove" title="Remove turn" aria-label="Remove turn">✕</button></span></div>' +
      '<textarea name="content" class="turn-input" rows="3"></textarea>';
    li.querySelector("select").value = role;
    const ta = li.querySelector("textarea");
    ta.value = content; ta.placeholder = placeholder[role] || "";
    return li;
  }
  function setMessages(msgs) {
    const turns = Array.from(list.querySelectorAll(".turn"));
    const sameShape = turns.length === msgs.length && turns.every((li, i) => li.querySelector("[name=role]").value === msgs[i].role);
    if (sameShape) {
      turns.forEach((li, i) => { li.querySelector("[name=content]").value = msgs[i].content; });
    } else if (conversation) {
      list.innerHTML = "";
      msgs.forEach((m) => list.appendChild(makeTurn(m.role, m.content)));
    }
    list.querySelectorAll("textarea").forEach(grow);
  }
  function addTurn(role) {
    const roles = messages().map((m) => m.role).filter((r) => r !== "system");
    const next = role || (roles[roles.length - 1] === "user" ? "assistant" : "user");
    const li = makeTurn(next, "");
    if (next === "system") list.insertBefore(li, list.firstChild); else list.appendChild(li);
    li.querySelector("textarea").focus();
    changed();
  }
  if (conversation) {
    $("add-turn").addEventListener("click", () => addTurn());
    $("add-system").addEventListener("click", () => addTurn("system"));
    list.addEventListener("click", (e) => {
      const btn = e.target.closest("button.tool");
      if (!btn) return;
      const li = btn.closest(".turn");
      if (btn.dataset.action === "remove") li.remove();
      if (btn.dataset.action === "up" && li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
      if (btn.dataset.action === "down" && li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
      changed();
    });
    list.addEventListener("change", (e) => {
      if (e.target.matches("select.role-select")) { e.target.closest(".turn").className = "turn role-" + e.target.value; changed(); }
    });
  }

  /* Counts, local checks, diff ------------------------------------------------------ */
  /* The turns the annotator writes (all of a conversation, prompt and answer when
     composing, the answer otherwise), editable or shown read-only. */
  function editableText() {
    return Array.from(list.querySelectorAll(".turn"))
      .filter((li) => li.dataset.counted !== "0")
      .map((li) => li.querySelector("[name=content]").value).join("\n");
  }
  function tokens(text) {
    let n = 0;
    (text.match(/[A-Za-z\u00C0-\u024F]+|\d+|[^\s\w]/g) || []).forEach((w) => { n += Math.max(1, Math.ceil(w.length / 6)); });
    return n;
  }
  function localChecks(msgs) {
    const out = [];
    let expected = "user";
    msgs.forEach((m, i) => {
      if (m.role === "system") { if (i !== 0) out.push(["fail", "format", "Turn " + (i + 1) + ": a system prompt may only come first."]); return; }
      if (m.role !== expected) out.push(["fail", "format", "Turn " + (i + 1) + ": user and assistant must alternate."]);
      expected = m.role === "user" ? "assistant" : "user";
      if (!m.content.trim()) out.push(["fail", "empty", "Turn " + (i + 1) + " (" + m.role + ") is empty."]);
    });
    if (!msgs.length || msgs[msgs.length - 1].role !== "assistant") out.push(["fail", "format", "The conversation must end with an assistant answer."]);
    const last = msgs.length ? msgs[msgs.length - 1].content : "";
    if (last.trim() && last.trim().length < 20) out.push(["warn", "length", "The answer is very short (" + last.trim().length + " characters)."]);
    if (last.length > 20000) out.push(["warn", "length", "The answer is very long (" + last.length + " characters)."]);
    if (S.taskType === "correct" && S.modelDraft && last.trim() === S.modelDraft.trim()) out.push(["warn", "unchanged", "You have not changed the model's draft yet."]);
    if (/\b(TODO|TBD|lorem ipsum|\[insert)/i.test(last)) out.push(["warn", "placeholder", "The answer contains placeholder text."]);
    return out;
  }
  function renderChecks(found) {
    const ul = $("local-checks");
    ul.innerHTML = "";
    if (!found.length) {
      const li = document.createElement("li"); li.className = "check-pass";
      li.innerHTML = '<span class="badge pass">pass</span> Looks complete.'; ul.appendChild(li); return;
    }
    found.forEach(([outcome, name, message]) => {
      const li = document.createElement("li"); li.className = "check-" + outcome;
      const badge = document.createElement("span"); badge.className = "badge " + outcome; badge.textContent = outcome;
      const strong = document.createElement("strong"); strong.textContent = " " + name + " ";
      li.append(badge, strong, document.createTextNode(message)); ul.appendChild(li);
    });
  }
  function split(text) { return text.match(/\s+|[^\s]+/g) || []; }
  function diff(a, b) {
    const x = split(a), y = split(b);
    if (x.length * y.length > 4e6) return [["ins", b]];
    const n = x.length, m = y.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = []; let i = 0, j = 0;
    const push = (k, s) => { if (out.length && out[out.length - 1][0] === k) out[out.length - 1][1] += s; else out.push([k, s]); };
    while (i < n && j < m) {
      if (x[i] === y[j]) { push("same", x[i]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) { push("del", x[i]); i++; } else { push("ins", y[j]); j++; }
    }
    while (i < n) push("del", x[i++]);
    while (j < m) push("ins", y[j++]);
    return out;
  }
  function renderDiff(msgs) {
    const box = $("diff");
    if (!box) return;
    const answer = msgs.length ? msgs[msgs.length - 1].content : "";
    box.innerHTML = "";
    let added = 0, removed = 0;
    diff(S.modelDraft || "", answer).forEach(([kind, text]) => {
      const el = document.createElement(kind === "ins" ? "ins" : kind === "del" ? "del" : "span");
      el.textContent = text; box.appendChild(el);
      const words = (text.match(/\S+/g) || []).length;
      if (kind === "ins") added += words; if (kind === "del") removed += words;
    });
    $("diff-stats").textContent = added || removed ? "+" + added + " −" + removed + " words" : "no changes yet";
  }
  function refresh() {
    const msgs = messages();
    const text = editableText();
    const words = (text.match(/\S+/g) || []).length;
    $("count-chars").textContent = text.length.toLocaleString() + " characters";
    $("count-words").textContent = words.toLocaleString() + " word" + (words === 1 ? "" : "s");
    $("count-tokens").textContent = "≈" + tokens(text).toLocaleString() + " tokens";
    renderChecks(localChecks(msgs));
    renderDiff(msgs);
  }
  function grow(ta) {
    ta.style.height = "0px";
    const min = !conversation && ta.closest(".role-assistant") ? 150 : 48;
    ta.style.height = Math.min(Math.max(ta.scrollHeight + 4, min), window.innerHeight * 0.7) + "px";
  }

  /* Submit ---------------------------------------------------------------------- */
  async function submit() {
    if (!S.editable || submitting) return;
    const msgs = messages();
    const blocking = localChecks(msgs).filter((c) => c[0] === "fail");
    if (blocking.length) { setStatus(blocking[0][2], "bad"); return; }
    if (pendingAck) { askToAcknowledge(pendingAck); return; } // the text autosaves as usual
    submitting = true;
    const button = $("submit-button");
    button.disabled = true; button.firstChild.textContent = "Submitting… ";
    clearTimeout(timer);
    while (saving) await new Promise((r) => setTimeout(r, 30));
    if (conflict) { submitting = false; button.disabled = false; button.firstChild.textContent = "Submit "; return; }
    for (let attempt = 0; attempt < 4; attempt++) {
      const active = takeActive();
      try {
        const r = await api("POST", S.urls.submit, { messages: msgs, base_revision: base, active_seconds: active });
        const data = await r.json().catch(() => ({}));
        if (!r.ok) giveBackActive(active);
        if (r.ok) {
          clearLocal(); lastSaved = JSON.stringify(msgs);
          setStatus("Submitted. Loading the next item…", "ok");
          const n = await api("POST", S.urls.next);
          if (n.status === 200) { const next = await n.json(); window.location.assign(next.url); }
          else window.location.assign(S.urls.work);
          return;
        }
        if (r.status === 409 && data.guideline_version !== undefined) {
          askToAcknowledge(data.guideline || { version: data.guideline_version, changes: [] });
        } else if (r.status === 409 && hasToken(data)) {
          if (!showConflict(data, msgs)) continue; // the same text: submit again with its token
        } else if (r.status === 409) showLost(data.detail);
        else setStatus(data.detail || "Could not submit (error " + r.status + ").", "bad");
        break;
      } catch (e) {
        giveBackActive(active);
        setStatus("Connection problem, retrying the submit…", "warn");
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
    submitting = false; button.disabled = false; button.firstChild.textContent = "Submit ";
  }
  function askToAcknowledge(g) {
    showGuideline(g);
    const b = $("guideline-ack"); if (b) b.focus(); // leaving the text box saves it first
    setStatus("Acknowledge the new guidelines (version " + g.version + ") to submit; your text is kept.", "warn");
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });

  /* Shortcuts ----------------------------------------------------------------------- */
  function openMenu(id, focus) {
    document.querySelectorAll("details.menu").forEach((d) => { if (d.id !== id) d.open = false; });
    const d = $(id); if (!d) return; d.open = true; const f = $(focus); if (f) f.focus();
  }
  document.addEventListener("keydown", (e) => {
    const typing = e.target.matches && e.target.matches("textarea, input, select");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); submit(); return; }
    if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) { e.preventDefault(); save(); return; }
    if (e.altKey && e.code === "KeyK") { e.preventDefault(); openMenu("skip-menu", "skip-reason"); return; }
    if (e.altKey && e.code === "KeyF") { e.preventDefault(); openMenu("flag-menu", "flag-note"); return; }
    if (e.altKey && e.code === "KeyG") { e.preventDefault(); const g = $("guideline-panel"); if (g) g.open = !g.open; return; }
    if (e.altKey && e.code === "KeyN" && conversation) { e.preventDefault(); addTurn(); return; }
    if (e.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach((d) => { d.open = false; });
      if (typing) e.target.blur();
      return;
    }
    if (e.key === "?" && !typing) { e.preventDefault(); $("shortcuts").showModal(); }
  });
  const help = $("show-shortcuts");
  if (help) help.addEventListener("click", () => $("shortcuts").showModal());

  /* Wiring ------------------------------------------------------------------------- */
  list.addEventListener("input", (e) => { lastTyped = Date.now(); if (e.target.matches("textarea")) grow(e.target); changed(); });
  list.addEventListener("keydown", () => { lastTyped = Date.now(); });
  list.addEventListener("focusout", () => save());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") save(true); });
  window.addEventListener("pagehide", () => save(true));
  window.addEventListener("beforeunload", () => {
    if (S.editable && !submitting && JSON.stringify(messages()) !== lastSaved) { keepLocal(); save(true); }
  });
  if (S.editable) {
    setInterval(async () => {
      try {
        const r = await api("POST", S.urls.lease);
        if (r.ok) showLease((await r.json()).lease_expires_at);
      } catch (e) { /* offline: the next save renews it */ }
    }, 120000);
    // A copy on this device newer than the server's draft (crash, closed tab, offline).
    try {
      const kept = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (kept && kept.base === base && JSON.stringify(kept.messages) !== lastSaved) {
        setMessages(kept.messages);
        setStatus("Restored unsaved text from this device", "warn");
        setTimeout(save, 50);
      } else if (kept) clearLocal();
    } catch (e) { /* ignore */ }
  }
  list.querySelectorAll("textarea").forEach(grow);
  refresh();
  const areas = Array.from(list.querySelectorAll("textarea.turn-input"));
  const first = areas.find((t) => !t.value.trim()) || areas[areas.length - 1];
  if (first) { first.focus(); first.setSelectionRange(first.value.length, first.value.length); }
})();
