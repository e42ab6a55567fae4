// Moving a session on the day grid (views/day_move.py): drag a booked block to an empty cell, or focus it, press M,
// choose a cell with the arrow keys and press Enter. The server decides with the booking checks; a clash comes back
// with the sessions in the way and the nearest free times, marked here on the grid where they are. Words shown on
// the grid come from the page (_move_help.html), so they are translated with it.
(function () {
  var live = document.getElementById("day-live");
  var form = document.getElementById("move-form");
  var status = document.getElementById("move-status");
  if (!live || !form || !status) {
    return;
  }
  var words = form.dataset;
  var moving = null; // the id of the session being moved
  var marks = null; // the last refused move: {target, inTheWay, free}
  var focusAfterSwap = null; // the id of a session just moved

  function sessionId(block) {
    var match = /\/(\d+)\/?$/.exec(new URL(block.href).pathname);
    return match ? match[1] : null;
  }

  function blocks() {
    return Array.prototype.slice.call(live.querySelectorAll(".day-grid a.appt"));
  }

  function blockOf(id) {
    return blocks().filter(function (block) { return sessionId(block) === id; })[0] || null;
  }

  function cellKey(link) {
    var params = new URL(link.href).searchParams;
    return params.get("resource") + "@" + params.get("start");
  }

  function slotIn(element) {
    if (!element || !element.closest) {
      return null;
    }
    var link = element.closest("a[data-slot]");
    if (link) {
      return link;
    }
    var cell = element.closest("td");
    return cell && live.contains(cell) ? cell.querySelector("a[data-slot]") : null;
  }

  // Only booked and confirmed sessions move (the service refuses the others): they are the ones made draggable.
  function prepare() {
    blocks().forEach(function (block) {
      var movable = block.classList.contains("appt-booked") || block.classList.contains("appt-confirmed");
      block.draggable = movable;
      if (movable) {
        block.setAttribute("aria-keyshortcuts", "m");
      }
    });
    live.querySelectorAll("a[data-slot]").forEach(function (link) {
      link.dataset.moveHere = words.hereLabel;
    });
    showMarks();
    var moved = focusAfterSwap && blockOf(focusAfterSwap);
    if (moved) {
      focusAfterSwap = null;
      moved.focus();
    }
  }

  function mark(element, kind, label) {
    element.classList.add("move-" + kind);
    element.dataset.moveMark = label;
  }

  function clearMarks() {
    live.querySelectorAll(".move-clash, .move-free, .move-target, .move-moving").forEach(function (element) {
      element.classList.remove("move-clash", "move-free", "move-target", "move-moving");
      delete element.dataset.moveMark;
    });
  }

  function showMarks() {
    clearMarks();
    // While moving, a free cell says "Move here" rather than "+ Book" (scheduling.css) under the pointer or focus.
    if (moving) {
      live.dataset.moving = "1";
    } else {
      delete live.dataset.moving;
    }
    if (moving) {
      var block = blockOf(moving);
      if (block) {
        mark(block, "moving", words.movingLabel);
      }
    }
    if (!marks) {
      return;
    }
    marks.inTheWay.forEach(function (id) {
      var block = blockOf(id);
      if (block) {
        mark(block, "clash", words.clashLabel);
      }
    });
    live.querySelectorAll("a[data-slot]").forEach(function (link) {
      var key = cellKey(link);
      if (marks.free.indexOf(key) >= 0) {
        mark(link, "free", words.freeLabel);
      } else if (key === marks.target) {
        mark(link, "target", words.targetLabel);
      }
    });
  }

  function sayText(text) {
    var note = document.createElement("p");
    note.className = "alert alert-info mb-2";
    note.textContent = text;
    status.replaceChildren(note);
  }

  function send(data) {
    data.set("location", form.elements.location.value);
    moving = null;
    marks = null;
    showMarks();
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    })
      .then(function (response) {
        if (response.redirected) {
          window.location.assign(response.url); // signed out meanwhile
          return null;
        }
        return response.text().then(function (html) {
          var result = new DOMParser().parseFromString(html, "text/html").getElementById("move-result");
          if (!result) {
            sayText(words.failed); // not an answer about the move (an error page): nothing to show of it
            return;
          }
          status.replaceChildren(result);
          if (result.dataset.outcome === "moved") {
            // Focus follows the session to its new place once the grid shows it (keyboard users carry on from it).
            focusAfterSwap = data.get("appointment");
          } else {
            result.querySelector("#move-said").focus(); // what stood in the way, then the free times offered
            marks = {
              target: result.dataset.target,
              inTheWay: result.dataset.inTheWay.split(" ").filter(Boolean),
              free: result.dataset.free.split(" ").filter(Boolean),
            };
          }
          showMarks();
          live.dispatchEvent(new CustomEvent("live:refresh")); // calendar_live.js polls now
        });
      })
      .catch(function () {
        sayText(words.failed);
      });
  }

  function moveTo(id, slot) {
    var data = new FormData(form);
    var params = new URL(slot.href).searchParams;
    data.set("appointment", id);
    data.set("resource", params.get("resource"));
    data.set("start", params.get("start"));
    return send(data);
  }

  // --- Dragging ----------------------------------------------------------------------------------------------------
  live.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest("a.appt[draggable=true]");
    if (!block) {
      return;
    }
    moving = sessionId(block);
    marks = null;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", moving);
    showMarks();
  });

  var over = null; // the free cell under the dragged session (hover does not apply while dragging)

  function overCell(slot) {
    if (over && over !== slot) {
      over.classList.remove("move-over");
    }
    over = slot;
    if (slot) {
      slot.classList.add("move-over");
    }
  }

  live.addEventListener("dragover", function (event) {
    var slot = moving ? slotIn(event.target) : null;
    overCell(slot);
    if (slot) {
      event.preventDefault(); // a free cell takes the drop
      event.dataTransfer.dropEffect = "move";
    }
  });

  live.addEventListener("drop", function (event) {
    var slot = slotIn(event.target);
    if (!moving || !slot) {
      return;
    }
    event.preventDefault();
    overCell(null);
    moveTo(moving, slot);
  });

  live.addEventListener("dragend", function () {
    overCell(null);
    if (moving && !marks) {
      moving = null; // dropped outside a free cell: nothing moves
      showMarks();
    }
  });

  // --- Keyboard: M on a session, then a cell with the arrow keys (scheduling.js moves between them) and Enter ------
  function firstSlotNear(block) {
    var row = block.closest("tr");
    while (row) {
      var slot = row.querySelector("a[data-slot]");
      if (slot) {
        return slot;
      }
      row = row.nextElementSibling;
    }
    return live.querySelector("a[data-slot][tabindex='0']") || live.querySelector("a[data-slot]");
  }

  live.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && moving) {
      var back = blockOf(moving);
      moving = null;
      showMarks();
      sayText(words.cancelled);
      if (back) {
        back.focus();
      }
      return;
    }
    if ((event.key !== "m" && event.key !== "M") || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var block = event.target.closest && event.target.closest("a.appt[draggable=true]");
    if (!block) {
      return;
    }
    event.preventDefault();
    moving = sessionId(block);
    marks = null;
    showMarks();
    sayText(words.choose);
    var slot = firstSlotNear(block);
    if (slot) {
      live.querySelectorAll("a[data-slot][tabindex='0']").forEach(function (other) {
        other.setAttribute("tabindex", "-1");
      });
      slot.setAttribute("tabindex", "0");
      slot.focus();
    }
  });

  // While moving, a free cell is the target rather than a new booking: caught before scheduling.js opens its panel.
  live.addEventListener(
    "click",
    function (event) {
      var slot = moving && event.target.closest("a[data-slot]");
      if (!slot) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      moveTo(moving, slot);
    },
    true
  );

  // The "Move here" buttons of a refused move: sent the same way (they also work without JavaScript).
  status.addEventListener("submit", function (event) {
    var chosen = event.target.closest("[data-move-form]");
    if (chosen) {
      event.preventDefault();
      send(new FormData(chosen));
    }
  });

  live.addEventListener("live:swapped", prepare);
  prepare();
  focusAfterSwap = null;
})();
