// The form builder's "Copy" button: copies the snippet's text to the clipboard.
// Without JavaScript the button stays hidden; the snippet box can be selected and copied.
(function () {
  function wire(root) {
    var buttons = root.querySelectorAll("[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (button.dataset.wired) { continue; }
      button.dataset.wired = "1";
      button.hidden = false;
      button.addEventListener("click", function (event) {
        var source = document.getElementById(event.currentTarget.dataset.copy);
        var status = event.currentTarget.parentNode.querySelector(".copy-status");
        function done(message) { if (status) { status.textContent = message; } }
        source.select();
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(source.value).then(
            function () { done("Copied."); },
            function () { done("Selected: press Ctrl+C (or ⌘C) to copy."); });
        } else {
          done("Selected: press Ctrl+C (or ⌘C) to copy.");
        }
      });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function () { wire(document); });
})();
