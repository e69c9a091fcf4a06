// Draw every figure the page embedded with {{ fig|json_script:"id" }} into <div data-fig="id">.
(function () {
  "use strict";
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw() {
    document.querySelectorAll("[data-fig]").forEach(function (div) {
      var src = document.getElementById(div.getAttribute("data-fig"));
      if (!src) return;
      var fig = JSON.parse(src.textContent);
      Plotly.newPlot(div, fig.data || [], fig.layout || {}, CONFIG);
    });
    whatIf();
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) return "—";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 || n >= 100 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
  }

  function whatIf() {
    var panel = document.getElementById("whatif");
    var plot = document.getElementById("chart-whatif-plot");
    if (!panel || !plot) return;
    var gogc = document.getElementById("gogc"), off = document.getElementById("gogc-off");
    var mem = document.getElementById("memlimit");
    var err = document.getElementById("whatif-error");
    var timer = null, seq = 0;

    function apply(res) {
      if (res.error) { err.textContent = res.error; return; }
      err.textContent = "";
      document.getElementById("p-gcmin").textContent = res.gc_per_minute == null ? "—" : res.gc_per_minute.toFixed(2);
      document.getElementById("p-peak").textContent = fmtBytes(res.peak_heap_bytes);
      document.getElementById("p-gccpu").textContent = res.gc_cpu_fraction == null ? "—" : (100 * res.gc_cpu_fraction).toFixed(1) + "%";
      document.getElementById("whatif-thrash").hidden = !res.thrash;
      document.getElementById("whatif-limited").textContent = res.limited_by ? "Heap goal set by: " + res.limited_by : "";
      // traces 2 and 3 are the prediction (see apps/web/charts.whatif_chart)
      Plotly.restyle(plot, { x: [res.x, res.x], y: [res.goal, res.peak] }, [2, 3]);
      var gc = document.getElementById("chart-whatif-gc-plot");
      if (gc && gc.data) Plotly.restyle(gc, { y: [[res.recorded_gc_per_minute, res.gc_per_minute]] }, [0]);
    }

    function update() {
      document.getElementById("gogc-out").textContent = off.checked ? "off" : gogc.value;
      document.getElementById("memlimit-out").textContent = mem.value === "0" ? "unset" : mem.value + " MiB";
      gogc.disabled = off.checked;
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = new URL(panel.getAttribute("data-url"), window.location.href);
        url.searchParams.set("gogc", off.checked ? "off" : gogc.value);
        url.searchParams.set("memlimit", mem.value === "0" ? "" : (parseInt(mem.value, 10) * 1048576).toString());
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (res) { if (mine === seq) apply(res); })
          .catch(function () { err.textContent = "Could not reach the server."; });
      }, 150);
    }

    [gogc, off, mem].forEach(function (el) { el.addEventListener("input", update); el.addEventListener("change", update); });
    var initial = document.getElementById("whatif-initial");
    if (initial) {
      var res = JSON.parse(initial.textContent);
      if (res) apply(res);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
