// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function openDialog(dialog) {
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("textarea, input:not([type=hidden]), button, a[href]");
      if (first) { first.focus(); }
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

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab][data-tab]");
    if (!tab) { return; }
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
    if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
    if (event.key === "Home") { next = tabs[0]; }
    if (event.key === "End") { next = tabs[tabs.length - 1]; }
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

  document.addEventListener("DOMContentLoaded", function () { refreshSelection(); });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    refreshSelection();
    if (target.tagName === "DIALOG") {
      openDialog(target);
    } else if (target.id === "details-panel") {
      target.classList.add("open");
      target.focus();
    }
  });
})();
