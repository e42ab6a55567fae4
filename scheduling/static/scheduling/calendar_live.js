// A calendar kept live (the day view: views/day_live.py; the week view: views/schedule.py week_live). Polls its
// data-live-url every few seconds while the page is visible, with the ETag it holds: a 304 means nothing changed; a
// 200 brings the new grid, swapped in with focus kept on the same session. No connection is held open. Without
// JavaScript the page is a plain grid. The day view's scripts hook in by events on the live element: "live:refresh"
// asks for a poll at once (after a booking or a move), "live:swapped" says a new grid is in (scheduling.js resets
// the arrow keys' tab stop, move.js marks the grid again) before focus is put back.
(function () {
  var POLL_MS = 5000;
  Array.prototype.forEach.call(document.querySelectorAll("[data-live-poll]"), function (live) {
    var timer = null;
    // One poll at a time: a refresh asked for while one is on its way runs when it is back. Two at once could both
    // swap (the second detaching what the first put in) and would each start a timer, polling twice from then on.
    var inFlight = false;
    var askedAgain = false;

    function swap(html, etag) {
      var focused = live.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
      live.innerHTML = html;
      live.dataset.etag = etag || "";
      live.dispatchEvent(new CustomEvent("live:swapped"));
      if (focused) {
        var again = live.querySelector('a[href="' + CSS.escape(focused) + '"]');
        if (again) {
          again.focus();
        }
      }
    }

    function poll() {
      clearTimeout(timer);
      if (document.visibilityState !== "visible") {
        return; // resumed by visibilitychange
      }
      if (inFlight) {
        askedAgain = true;
        return;
      }
      inFlight = true;
      // Passive: a poll is not someone at the desk, so it never keeps an idle session signed in.
      var headers = { "HX-Request": "true", "X-Clinic-Passive": "1" };
      if (live.dataset.etag) {
        headers["If-None-Match"] = live.dataset.etag;
      }
      fetch(live.dataset.liveUrl, { credentials: "same-origin", cache: "no-store", headers: headers })
        .then(function (response) {
          if (response.redirected) {
            window.location.assign(response.url); // signed out: show the sign-in page, not put it in the grid
            return null;
          }
          if (response.status === 200) {
            return response.text().then(function (html) {
              swap(html, response.headers.get("ETag"));
            });
          }
          return null;
        })
        .catch(function () {
          // Offline for a moment: the next poll tries again.
        })
        .finally(function () {
          inFlight = false;
          clearTimeout(timer);
          if (askedAgain) {
            askedAgain = false;
            poll();
          } else if (document.visibilityState === "visible") {
            timer = setTimeout(poll, POLL_MS);
          }
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        poll();
      } else {
        clearTimeout(timer);
      }
    });
    live.addEventListener("live:refresh", poll);
    timer = setTimeout(poll, POLL_MS);
  });
})();
