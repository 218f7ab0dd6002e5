// After "Chạy lại" the administrator stays on the record: this script asks the console how the re-drive's run is
// doing (GET /onestop/api/actions/<id>) until it has finished, and shows the outcome in place. Every word it shows
// comes from the page (data-text-* attributes, rendered from the message catalog); no inline script (CSP).
(function () {
  "use strict";
  const box = document.getElementById("redrive-outcome");
  if (!box || !box.dataset.api) return;
  const text = (name) => box.dataset["text" + name] || "";
  const line = box.querySelector("[data-outcome]") || box;
  let tries = 0;
  let classes = {};
  try { classes = JSON.parse(box.dataset.classes || "{}"); } catch (err) { classes = {}; }
  const DONE_WELL = ["loaded", "queued", "redriven", "cleared"];
  const when = (iso) => {
    if (!iso) return "";
    const at = new Date(iso);
    return isNaN(at) ? iso : at.toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
  };

  function show(message, state) {
    line.textContent = message;
    box.dataset.state = state;
  }

  function outcomeOf(answer) {
    const key = box.dataset.key;
    const per = (answer.result && answer.result.outcome) || {};
    return key && per[key] ? per[key] : null;
  }

  async function poll() {
    tries += 1;
    let answer;
    try {
      const resp = await fetch(box.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error(String(resp.status));
      answer = await resp.json();
    } catch (err) {
      show(text("Unreachable"), "unknown");
      if (tries < 40) setTimeout(poll, 5000);
      return;
    }
    const run = answer.dag_run_state || "";
    const mine = outcomeOf(answer);
    if (answer.state === "done" || answer.finished_at || run === "success" || run === "failed") {
      if (mine && DONE_WELL.includes(mine.state)) {
        show(text("Loaded"), "loaded");
      } else if (mine) {
        const cls = classes[mine.error_class] || mine.error_class || "";
        show(text("Failing").replace("{error_class}", cls).replace("{at}", when(mine.at)), "failing");
      } else if (run === "failed" || answer.state === "failed") {
        show(text("RunFailed"), "failing");
      } else {
        show(text("Done"), "loaded");
      }
      if (box.dataset.reload === "yes") setTimeout(() => window.location.replace(box.dataset.after || window.location.pathname), 1500);
      return;
    }
    show(text("Running").replace("{run}", answer.dag_run_id || ""), "running");
    if (tries < 120) setTimeout(poll, 3000);
  }

  poll();
})();
