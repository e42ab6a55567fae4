// Print buttons: a data attribute rather than inline script, so a Content Security Policy can forbid inline JS.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
