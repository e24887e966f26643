// The receipt's print button (the portal's only script; without it the page says how to print).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-button");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
  var hint = document.getElementById("print-hint");
  if (hint) hint.hidden = true;
});
