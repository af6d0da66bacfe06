// JSON calls to the designer's endpoints (same origin, session cookie, CSRF header).
// Errors come back as {error: {code, message, details}} with translated messages;
// they are thrown as ApiError so callers can tell a conflict (409) from bad input.

import { t } from "./dom.js";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function createApi(urls, csrf) {
  async function post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "network", t("network_error"), {});
    }
    // A redirect (to the login page, when the session has ended) or any answer that is
    // not JSON must not pass for an empty success.
    const type = response.headers.get("Content-Type") || "";
    if (response.redirected || !type.includes("application/json")) {
      throw new ApiError(response.status, "not_json", t("session_lost"), {});
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      const e = (data && data.error) || {};
      const message = e.message || t("request_failed", { status: response.status });
      throw new ApiError(response.status, e.code || "error", message, e.details);
    }
    return data || {};
  }
  return { urls, post };
}
