// The analytics page's charts (templates/analytics/page.html): each drawn by Chart.js from the
// data apps/analytics/present.py put in #analytics-charts; the table beside it holds the same
// figures. Clicking a point that has a link opens the calls behind it.
"use strict";
(() => {
  function draw(spec, canvas) {
    const percent = Boolean(spec.percent);
    const datasets = spec.datasets.map((set) => ({
      label: set.label,
      data: set.data,
      backgroundColor: set.colours || set.colour,
      borderColor: set.colour || undefined,
      links: set.links || null,
      tension: 0.2,
    }));
    const scales = spec.type === "doughnut" ? {} : {
      x: { stacked: Boolean(spec.stacked), ticks: { precision: 0 } },
      y: { stacked: Boolean(spec.stacked), beginAtZero: true, max: percent ? 100 : undefined, ticks: { precision: 0 } },
    };
    return new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales,
        plugins: { legend: { display: datasets.length > 1 || spec.type === "doughnut" } },
        onHover: (event, elements) => {
          const link = elements.length && datasets[elements[0].datasetIndex].links;
          event.native.target.style.cursor = link ? "pointer" : "default";
        },
        onClick: (event, elements) => {
          if (!elements.length) return;
          const links = datasets[elements[0].datasetIndex].links;
          if (links && links[elements[0].index]) window.location.assign(links[elements[0].index]);
        },
      },
    });
  }

  function start() {
    const source = document.getElementById("analytics-charts");
    if (!source || !window.Chart) return;
    const specs = JSON.parse(source.textContent);
    for (const spec of specs) {
      const canvas = document.querySelector(`canvas[data-chart="${spec.id}"]`);
      if (canvas) canvas.chart = draw(spec, canvas);
      if (canvas) canvas.closest(".chart").dataset.drawn = "true";
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
