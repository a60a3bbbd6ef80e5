// Small enhancement of the map page: the date slider shows its date while moving and
// loads the map when released. Without JavaScript the form's button does the same.
(function () {
  var slider = document.getElementById("i");
  var label = document.getElementById("date-label");
  if (!slider || !label) { return; }
  var dates = (slider.getAttribute("data-dates") || "").split(",");
  slider.addEventListener("input", function () { label.textContent = dates[Number(slider.value)] || ""; });
  slider.addEventListener("change", function () { slider.form.submit(); });
})();
