/* WarmCRM workspace: number keys pick a call outcome and Enter saves, the fields an outcome needs
   appear, focus moves to the next lead after a call is logged, and board cards can be dragged.
   Every page works without this file: it only makes them faster. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function toggleFields(fields, show) {
    fields.hidden = !show;
    fields.querySelectorAll("input, select, textarea").forEach(function (input) {
      input.disabled = !show; // a hidden field is not sent, so it cannot contradict the outcome
    });
  }

  function syncOutcome(form) {
    var checked = form.querySelector('input[name="outcome"]:checked');
    var outcome = checked ? checked.value : "";
    form.querySelectorAll("[data-show-for]").forEach(function (field) {
      var hasError = field.querySelector(".field-error") !== null;
      toggleFields(field, hasError || field.getAttribute("data-show-for") === outcome);
    });
  }

  function syncStage(select) {
    var form = select.form;
    form.querySelectorAll("[data-show-for-stage]").forEach(function (field) {
      var hasError = field.querySelector(".field-error") !== null;
      toggleFields(field, hasError || field.getAttribute("data-show-for-stage") === select.value);
    });
  }

  function syncAll(root) {
    if (root.matches && root.matches("[data-call-form]")) syncOutcome(root);
    root.querySelectorAll("[data-call-form]").forEach(syncOutcome);
    root.querySelectorAll("[data-lost-toggle]").forEach(syncStage);
  }

  function focusNextRow(row) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
    var next = rows[rows.indexOf(row) + 1];
    var button = next && next.querySelector("[data-log-call]");
    if (button) {
      button.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-call-form]");
    if (form && event.target.name === "outcome") syncOutcome(form);
    if (event.target.matches("[data-lost-toggle]")) syncStage(event.target);
  });

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("[data-call-form]");
    if (!form || event.altKey || event.ctrlKey || event.metaKey) return;
    var typing = event.target.matches("textarea, input[type=date], input[type=datetime-local], input[type=text]");
    if (!typing && /^[1-9]$/.test(event.key)) {
      var radio = form.querySelector('input[name="outcome"][data-key="' + event.key + '"]');
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        syncOutcome(form);
        var needed = form.querySelector('[data-show-for="' + radio.value + '"] input');
        (needed || radio).focus();
      }
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && event.target.tagName !== "TEXTAREA" && event.target.tagName !== "BUTTON") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function onLoad(elt) {
    syncAll(elt);
    if (elt === document.body) return;
    if (elt.hasAttribute && elt.hasAttribute("data-just-logged")) {
      focusNextRow(elt);
      return;
    }
    var target = elt.querySelector('[aria-invalid="true"]') || elt.querySelector("[data-autofocus]");
    if (target) target.focus();
  }

  /* Today carries its rows' call form once (#call-form-template, the lead's id left out): opening it in a row is no
     request. The link's hx-get (and its href without JavaScript) still fetch the same form from the server. */
  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest && event.target.closest("[data-log-call]");
      var template = document.getElementById("call-form-template");
      if (!link || !template || !window.htmx) return;
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      var leadId = link.getAttribute("data-lead") || "";
      var target = document.getElementById("log-" + leadId);
      if (!/^[0-9]+$/.test(leadId) || !target) return;
      event.preventDefault();
      event.stopPropagation(); // before htmx's own listener on the link, which would GET the same form
      target.innerHTML = template.innerHTML.split(template.getAttribute("data-placeholder")).join(leadId);
      window.htmx.process(target);
      onLoad(target.querySelector("[data-call-form]"));
    },
    true
  );

  document.addEventListener("DOMContentLoaded", function () {
    syncAll(document);
    if (window.htmx) window.htmx.onLoad(onLoad);
  });

  /* Board: drag a card onto another column; the server answers with the board (or asks why it was lost). */
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.id);
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !window.htmx) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var card = document.getElementById(event.dataTransfer.getData("text/plain"));
    if (!card || card.closest(".board-column") === column) return;
    window.htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card,
      target: "#board",
      swap: "outerHTML",
      values: { stage: column.getAttribute("data-stage"), back: "board" },
    });
  });
})();
