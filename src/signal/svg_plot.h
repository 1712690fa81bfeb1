// A small SVG line-plot writer for the experiments: panels side by side, each with axes, ticks,
// a log-scale y axis where values span decades, a legend and a title. Readable in any browser.
#pragma once

#include <string>
#include <vector>

namespace torchinit::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;  // non-finite or (on a log axis) non-positive y values are skipped
  std::string color;         // any SVG colour; "" picks from the palette by index
  bool dashed = false;       // dashed line (predictions)
  bool markers = false;      // a circle at every point (measurements)
  bool legend = true;        // listed in the legend
};

struct Panel {
  std::string title, x_label, y_label;
  bool log_y = true;
  // Values beyond these bounds are clipped (an exploding network reaches 1e100).
  double y_floor = 1e-30, y_ceiling = 1e30;
  std::vector<Series> series;
};

// The palette colour of series i (tab10).
const std::string& palette(size_t i);

// One SVG document with the panels in a row under `title`.
std::string figure(const std::string& title, const std::vector<Panel>& panels);

}  // namespace torchinit::svg
