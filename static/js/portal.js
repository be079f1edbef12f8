// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button:not(:disabled), input:not([type=hidden]):not(:disabled), " +
    "select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex='-1'])";

  // What Tab reaches inside a dialog, in order: its controls, and a list that
  // scrolls with nothing focusable in it (the browser makes such a list a tab stop).
  function tabStops(dialog) {
    return Array.prototype.filter.call(dialog.querySelectorAll("*"), function (element) {
      if (!element.getClientRects().length) { return false; }
      if (element.matches(FOCUSABLE)) { return true; }
      var overflow = getComputedStyle(element).overflowY;
      return (overflow === "auto" || overflow === "scroll") &&
        element.scrollHeight > element.clientHeight && !element.querySelector(FOCUSABLE);
    });
  }

  // Opens the dialog, or, when new content was swapped into an open one, moves the
  // focus into the new content (the control that had it is gone).
  function openDialog(dialog) {
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    if (!dialog.open) { dialog.showModal(); }
    if (!dialog.contains(document.activeElement) || document.activeElement === dialog) {
      var first = dialog.querySelector("textarea, input:not([type=hidden]), button, a[href]");
      if (first) { first.focus(); }
    }
  }

  // Tab and Shift+Tab cycle inside a modal dialog instead of leaving for the
  // browser's own toolbar.
  function keepTabInDialog(event) {
    var dialog = document.querySelector("dialog:modal");
    if (!dialog) { return; }
    var stops = tabStops(dialog);
    if (!stops.length) { return; }
    var active = document.activeElement;
    var inside = dialog.contains(active) && active !== dialog;
    if (event.shiftKey && (!inside || active === stops[0])) {
      event.preventDefault();
      stops[stops.length - 1].focus();
    } else if (!event.shiftKey && (!inside || active === stops[stops.length - 1])) {
      event.preventDefault();
      stops[0].focus();
    }
  }

  // Buttons that act on ticked rows stay disabled until a row is ticked.
  function refreshSelection(root) {
    (root || document).querySelectorAll("[data-needs-selection]").forEach(function (button) {
      var form = button.form;
      var ticked = form && form.querySelector("input[name=message_ids]:checked");
      button.disabled = !ticked;
      button.setAttribute("aria-disabled", ticked ? "false" : "true");
    });
  }

  function selectTab(tab, focus) {
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) { panel.hidden = !selected; }
    });
    if (focus) { tab.focus(); }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    var tab = event.target.closest("[role=tab][data-tab]");
    if (tab) {
      event.preventDefault();
      selectTab(tab, true);
      return;
    }
    // A link with data-dialog-open="ID" opens that <dialog> as a modal instead of
    // navigating to its confirmation page.
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        openDialog(dialog);
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) {
        event.preventDefault();
        open.close();
      }
    }
  });

  // The browser gives focus back to the control that opened a dialog. When there is
  // none (the server rendered the dialog open) or it was replaced meanwhile (the
  // results refresh after a recall), the focus goes to the element the dialog names
  // in data-return-focus, or else to the control that opens it.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    var active = document.activeElement;
    if (dialog.tagName !== "DIALOG") { return; }
    if (active && active !== document.body && !dialog.contains(active)) { return; }
    var fallback = document.getElementById(dialog.getAttribute("data-return-focus")) ||
      document.querySelector("[data-dialog-open='" + dialog.id + "']");
    if (fallback) { fallback.focus(); }
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key === "Tab") {
      keepTabInDialog(event);
      return;
    }
    // A link that acts as a button (it opens a dialog) answers Space as buttons do.
    if (event.key === " " && event.target.matches && event.target.matches("a[role=button]")) {
      event.preventDefault();
      event.target.click();
      return;
    }
    var tab = event.target.closest && event.target.closest("[role=tab][data-tab]");
    if (!tab) { return; }
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
    if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
    if (event.key === "Home") { next = tabs[0]; }
    if (event.key === "End") { next = tabs[tabs.length - 1]; }
    if (event.key === " ") { next = tab; }  // as Enter does; a link would scroll the page
    if (next) {
      event.preventDefault();
      selectTab(next, true);
    }
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-page]");
    if (all) {
      all.form.querySelectorAll("input[name=message_ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    }
    if (event.target.name === "message_ids" || all) { refreshSelection(); }
  });

  // A message body is shown only from a response the server could refuse (a recall,
  // an expiry, an ended session). htmx keeps no history snapshots (base.html); this
  // also drops a snapshot an older page may have left in the tab.
  function forgetHistory() {
    try {
      sessionStorage.removeItem("htmx-history-cache");
      // Where someone signs in (after Sign out, or when a session ended elsewhere),
      // nothing of an earlier session stays in the tab.
      if (document.querySelector("[data-clear-storage]")) {
        sessionStorage.clear();
        localStorage.clear();
      }
    } catch (error) { /* storage disabled: then there is nothing to clear */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    forgetHistory();
    refreshSelection();
  });

  // The browser's back-forward cache keeps a page whole, with no request on Back. A page
  // showing a body drops the body as it goes into that cache, and asks the server again
  // when it comes back out.
  window.addEventListener("pagehide", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll(".message-body").forEach(function (body) {
      body.textContent = "";
    });
  });

  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector(".message-body")) {
      window.location.reload();
    }
  });

  // The row whose details the panel shows stays marked, as on a full page load.
  function markSelectedRow(link) {
    var row = link && link.closest ? link.closest("tr[id]") : null;
    if (!row) { return; }
    row.parentNode.querySelectorAll("tr.selected").forEach(function (other) {
      other.classList.remove("selected");
    });
    row.classList.add("selected");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    refreshSelection();
    if (target.tagName === "DIALOG") {
      openDialog(target);
    } else if (target.classList.contains("details-panel")) {
      // Message Details and the audit log entry: hidden until something fills them.
      target.classList.add("open");
      markSelectedRow(event.detail.requestConfig && event.detail.requestConfig.elt);
      target.focus();
    }
  });
})();
