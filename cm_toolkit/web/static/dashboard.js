// Draws every chart of the page: each element with data-figure names its JSON figure, which
// carries Plotly's locale for the workspace language (month names, separators, toolbar words).
(function () {
  "use strict";
  function draw(element) {
    fetch(element.dataset.figure, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("chart " + element.dataset.figure + ": HTTP " + answer.status); }
        return answer.json();
      })
      .then(function (figure) {
        if (figure.locale) { Plotly.register(figure.locale); }
        return Plotly.newPlot(element, figure.data, figure.layout, figure.config);
      })
      .then(function () { element.dataset.rendered = "true"; })
      .catch(function (error) {
        element.dataset.rendered = "error";
        element.textContent = document.body.dataset.chartFailed || "This chart could not be drawn.";
        console.error(error);
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-figure]").forEach(draw);
  });
})();
