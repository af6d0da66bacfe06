// Saving drafts and publishing. Saving a draft sends the draft's revision the page
// read (expected_version) and the version it opened (base_version); if someone else
// saved the draft, or started one, meanwhile the server answers 409 and the page says
// so, keeping the admin's work on screen (they can
// export it, or reload the newer version). Publishing needs a saved draft and no
// problems; the server checks both again.

import { t } from "./dom.js";

export function createSaving(store, api, cfg, ui) {
  const state = { key: cfg.key || null, version: cfg.version || null, revision: cfg.revision || null,
    status: cfg.status || null, busy: false };
  const self = { validation: null };

  function problemText(err) {
    const fields = err.details && err.details.fields;
    if (fields && typeof fields === "object") {
      return Object.entries(fields).map(([name, msg]) => `${name}: ${msg}`).join("; ");
    }
    return "";
  }

  self.save = async function save() {
    if (state.busy) { return; }
    state.busy = true;
    ui.refresh();
    try {
      const body = await api.post(api.urls.save, { document: store.doc, base_version: state.version,
        expected_version: state.status === "draft" ? state.revision : null });
      Object.assign(state, { key: body.key, version: body.version, revision: body.revision,
        status: body.status });
      store.markSaved();
      if (ui.saved) { ui.saved(body); }
      if (body.edit_url && window.location.pathname + window.location.search !== body.edit_url) {
        window.history.replaceState(null, "", body.edit_url);
      }
      ui.message(t("saved_version", { version: body.version }), "success");
    } catch (err) {
      if (err.status === 409) {
        ui.message(t("save_conflict"), "error", err.details && err.details.edit_url
          ? { href: err.details.edit_url, text: t("open_latest") } : null);
      } else {
        if (err.details && Array.isArray(err.details.problems) && self.validation) {
          self.validation.show(err.details.problems, JSON.parse(JSON.stringify(store.doc)));
        }
        ui.message([err.message, problemText(err)].filter(Boolean).join(" — "), "error");
      }
    } finally {
      state.busy = false;
      ui.refresh();
    }
  };

  self.publish = async function publish() {
    if (self.publishBlocker()) { return; }
    state.busy = true;
    ui.refresh();
    try {
      const body = await api.post(api.urls.publish, { key: state.key, version: state.version });
      state.status = body.status;
      ui.message(t("published_version", { version: state.version }), "success",
        body.history_url ? { href: body.history_url, text: t("open_history") } : null);
    } catch (err) {
      if (err.details && Array.isArray(err.details.problems) && self.validation) {
        self.validation.show(err.details.problems, JSON.parse(JSON.stringify(store.doc)));
      }
      ui.message(err.message, "error");
    } finally {
      state.busy = false;
      ui.refresh();
    }
  };

  // Why publishing is not possible now, or "" when it is.
  self.publishBlocker = function publishBlocker() {
    const v = self.validation;
    if (state.busy) { return t("busy"); }
    if (v && v.pending) { return t("checking"); }
    if (v && v.problems.length) { return t("fix_problems_first"); }
    if (!state.version || store.isDirty()) { return t("save_first"); }
    if (state.status !== "draft") { return t("only_drafts_publish"); }
    return "";
  };

  self.stateText = function stateText() {
    const parts = [];
    if (state.version) {
      parts.push(t("state_version", { version: state.version, status: t(`status_${state.status}`) }));
    } else {
      parts.push(t("state_new"));
    }
    if (store.isDirty()) { parts.push(t("unsaved_changes")); }
    return parts.join(" · ");
  };

  return self;
}
