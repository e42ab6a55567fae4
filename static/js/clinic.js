// Small progressive enhancements; every page works without them. No inline script anywhere (CSP).
document.addEventListener("DOMContentLoaded", () => {
  // After a refused submit, take keyboard and screen-reader users straight to the list of problems.
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  // Staff pages: warn two minutes before the idle sign-out, and let the person stay signed in.
  const idleSeconds = Number(document.body.dataset.idleSeconds || 0);
  const warning = document.getElementById("idle-warning");
  if (idleSeconds > 0 && warning) {
    const warnAfter = Math.max(idleSeconds - 120, 30) * 1000;
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        warning.hidden = false;
        document.getElementById("idle-stay").focus();
      }, warnAfter);
    };
    document.getElementById("idle-stay").addEventListener("click", async () => {
      await fetch(document.body.dataset.keepAliveUrl, { credentials: "same-origin" });
      warning.hidden = true;
      arm();
    });
    arm();
  }
});
