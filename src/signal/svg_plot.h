// A small SVG line-plot writer for the experiments: panels side by side, each with axes, ticks at
// round numbers, a log-scale y axis where values span decades, a legend and a title. Readable in
// any browser.
#pragma once

#include <string>
#include <vector>

namespace torchinit::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;  // non-finite or (on a log axis) non-positive y values are skipped
  std::string color;         // any SVG colour; "" picks from the palette by index
  // A dashed line (predictions): drawn after every other series, so it stays visible where it
  // runs through the measurements.
  bool dashed = false;
  bool markers = false;  // a hollow circle at every point on a faint line (measurements)
  bool legend = true;    // listed in the legend
};

struct Panel {
  std::string title, x_label, y_label;
  bool log_y = true;
  // Values beyond these bounds are clipped (an exploding network reaches 1e100).
  double y_floor = 1e-30, y_ceiling = 1e30;
  std::vector<Series> series;
  // Lines of text under the legend, e.g. where a curve stops and why.
  std::vector<std::string> notes = {};
};

// The palette colour of series i (tab10).
const std::string& palette(size_t i);

// Axis ticks at round numbers: the multiples of one step s = 1, 2 or 5 x 10^k, the smallest such
// step with at most `intervals` steps across [lo, hi] and s >= min_step, from the last multiple
// at or below `lo` to the first at or above `hi` (so the ticks cover the data; at most
// intervals + 2 steps). `hi <= lo` is read as [lo, lo + 1]. lo and hi must be finite.
std::vector<double> nice_ticks(double lo, double hi, int intervals = 5, double min_step = 0);

// One SVG document with the panels in a row under `title`.
std::string figure(const std::string& title, const std::vector<Panel>& panels);

}  // namespace torchinit::svg
