// Print buttons: a data attribute rather than inline script, so a Content Security Policy can forbid inline JS.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// The day view's grid (views/day_live.py), kept live by calendar_live.js. Every page works without this: the cells
// are links to the booking page.
(function () {
  var live = document.getElementById("day-live");
  if (!live) {
    return;
  }
  var panel = document.getElementById("book-panel");
  var opener = null; // the address of the cell that opened the panel: focus goes back to it when the panel closes

  function ask(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.cache = "no-store";
    options.headers = Object.assign({ "HX-Request": "true" }, options.headers || {});
    return fetch(url, options).then(function (response) {
      if (response.redirected) {
        // Signed out (idle too long, or elsewhere): show the sign-in page rather than put it in the grid.
        window.location.assign(response.url);
        throw new Error("signed out");
      }
      return response;
    });
  }

  // Polled by calendar_live.js: a new grid needs its one tab stop again.
  live.addEventListener("live:swapped", rovingTabs);

  // --- Keyboard: one tab stop for the free cells, arrow keys move between them --------------------------------
  function slots() {
    return Array.prototype.slice.call(live.querySelectorAll("a[data-slot]"));
  }

  function rovingTabs() {
    var all = slots();
    var current = all.filter(function (a) { return a.getAttribute("tabindex") === "0"; })[0] || all[0];
    all.forEach(function (a) { a.setAttribute("tabindex", a === current ? "0" : "-1"); });
  }

  function cellOf(link) {
    var params = new URL(link.href).searchParams;
    return { resource: params.get("resource"), start: params.get("start") };
  }

  live.addEventListener("keydown", function (event) {
    var link = event.target.closest("a[data-slot]");
    if (!link || ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(event.key) < 0) {
      return;
    }
    var all = slots();
    var here = cellOf(link);
    var next = null;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      var row = all.filter(function (a) { return cellOf(a).start === here.start; });
      next = row[row.indexOf(link) + (event.key === "ArrowRight" ? 1 : -1)];
    } else {
      var column = all.filter(function (a) { return cellOf(a).resource === here.resource; });
      next = column[column.indexOf(link) + (event.key === "ArrowDown" ? 1 : -1)];
    }
    if (next) {
      event.preventDefault();
      link.setAttribute("tabindex", "-1");
      next.setAttribute("tabindex", "0");
      next.focus();
    }
  });
  rovingTabs();

  // --- The booking panel ----------------------------------------------------------------------------------------
  if (!panel) {
    return;
  }

  function closePanel() {
    panel.hidden = true;
    panel.innerHTML = "";
    // The grid may have been swapped since: find the cell again by its address (or the block booked in it).
    var back = opener && live.querySelector('a[href="' + CSS.escape(opener) + '"]');
    if (back) {
      back.focus();
    } else {
      var heading = document.querySelector("main h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  }

  function showPanel(html) {
    panel.innerHTML = html;
    panel.hidden = false;
  }

  function pick(html, id) {
    return new DOMParser().parseFromString(html, "text/html").getElementById(id);
  }

  function post(form, action) {
    var data = new FormData(form);
    data.set("action", action);
    // The search term goes in the body, never the address.
    // getAttribute: the buttons named "action" shadow the form's own action property.
    return ask(form.getAttribute("action"), { method: "POST", body: data });
  }

  function replacePart(form, action, id) {
    return post(form, action).then(function (response) {
      return response.text().then(function (html) {
        var part = pick(html, id);
        var mine = document.getElementById(id);
        if (part && mine) {
          mine.replaceWith(part);
        }
      });
    });
  }

  live.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-slot]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    opener = link.getAttribute("href");
    ask(link.href).then(function (response) {
      return response.text().then(function (html) {
        showPanel(html);
        var search = panel.querySelector("[data-patient-search]");
        (search || panel.querySelector("#book-panel-heading")).focus();
      });
    });
  });

  var typing = null;
  panel.addEventListener("input", function (event) {
    if (!event.target.matches("[data-patient-search]")) {
      return;
    }
    var form = event.target.form;
    clearTimeout(typing);
    typing = setTimeout(function () {
      replacePart(form, "search", "book-results");
    }, 250);
  });

  panel.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && event.target.matches("input[name=patient]")) {
      // The patient's usual treatment may be chosen for them: the treatment, clinician and verdict come back.
      replacePart(form, "check", "book-details");
    } else if (form && event.target.matches("select")) {
      replacePart(form, "check", "book-verdict");
    }
  });

  panel.addEventListener("click", function (event) {
    if (event.target.closest("[data-panel-close]")) {
      event.preventDefault();
      closePanel();
    }
  });

  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closePanel();
    }
  });

  panel.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-book-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var action = (event.submitter && event.submitter.value) || "check";
    if (action === "search") {
      replacePart(form, "search", "book-results");
      return;
    }
    if (action === "check") {
      replacePart(form, "check", "book-verdict");
      return;
    }
    post(form, action).then(function (response) {
      return response.text().then(function (html) {
        showPanel(html);
        var said = panel.querySelector("#book-done, #book-error");
        (said || panel.querySelector("#book-panel-heading")).focus();
        if (response.status === 201) {
          live.dispatchEvent(new CustomEvent("live:refresh")); // show the new booking at once
        }
      });
    });
  });
})();
