#include "signal/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace torchinit::svg {
namespace {

constexpr double kPanelWidth = 600, kPanelHeight = 420;
constexpr double kLeft = 70, kRight = 190, kTop = 40, kBottom = 50;  // margins inside a panel

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string tick_label(double v, bool log) {
  if (log) return fmt::format("1e{}", static_cast<int>(std::lround(std::log10(v))));
  return fmt::format("{:g}", v);
}

std::string panel(const Panel& p, double ox) {
  const double w = kPanelWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  auto finite_y = [&](double y) {
    return std::isfinite(y) && (!p.log_y || y > 0) && y >= (p.log_y ? p.y_floor : -p.y_ceiling) &&
           y <= p.y_ceiling;
  };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : p.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!finite_y(s.y[i])) continue;
      const double y = p.log_y ? std::log10(s.y[i]) : s.y[i];
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (p.log_y) {
    y0 = std::floor(y0), y1 = std::ceil(y1);
  } else {
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  if (y1 <= y0) y1 = y0 + 1;
  auto px = [&](double x) { return ox + kLeft + (x - x0) / (x1 - x0) * w; };
  auto py = [&](double y) {
    return kTop + h - ((p.log_y ? std::log10(y) : y) - y0) / (y1 - y0) * h;
  };
  auto py_raw = [&](double v) { return kTop + h - (v - y0) / (y1 - y0) * h; };

  std::string out = fmt::format("<g font-family=\"sans-serif\" font-size=\"12\">\n");
  out += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
                     ox + kLeft + w / 2, escape(p.title));
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" stroke=\"black\"/>\n",
      ox + kLeft, kTop, w, h);
  // y ticks: decades on a log axis (at most ~10 labels), 5 steps otherwise.
  const int decades = static_cast<int>(y1 - y0);
  const int step = p.log_y ? std::max(1, (decades + 9) / 10) : 1;
  const int n_ticks = p.log_y ? decades / step : 5;
  for (int i = 0; i <= n_ticks; ++i) {
    const double v = p.log_y ? y0 + i * step : y0 + (y1 - y0) * i / n_ticks;
    const double y = py_raw(v);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n",
                       ox + kLeft, y, ox + kLeft + w, y);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", ox + kLeft - 6,
                       y + 4,
                       p.log_y ? tick_label(std::pow(10.0, v), true) : fmt::format("{:.3g}", v));
  }
  for (int i = 0; i <= 5; ++i) {
    const double v = x0 + (x1 - x0) * i / 5;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.3g}</text>\n", px(v),
                       kTop + h + 18, v);
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     ox + kLeft + w / 2, kTop + h + 40, escape(p.x_label));
  out += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>\n",
      ox + 16, kTop + h / 2, escape(p.y_label), p.log_y ? " (log scale)" : "");
  // Series, clipped to the plot area.
  const std::string clip = fmt::format("clip{}", static_cast<int>(ox));
  out += fmt::format(
      "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", clip,
      ox + kLeft, kTop, w, h);
  int legend_row = 0;
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const std::string& color = s.color.empty() ? palette(k) : s.color;
    std::string points;
    std::string circles;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!finite_y(s.y[i])) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
      if (s.markers) {
        circles += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>",
                               px(s.x[i]), py(s.y[i]), color);
      }
    }
    out += fmt::format(
        "<g clip-path=\"url(#{})\"><polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{} "
        "points=\"{}\"/>{}</g>\n",
        clip, color, s.dashed ? " stroke-dasharray=\"6,4\"" : "", points, circles);
    if (s.legend) {
      const double ly = kTop + 10 + 16 * legend_row++;
      const double lx = ox + kLeft + w + 10;
      out += fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>", lx,
          ly, lx + 22, ly, color, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
      if (s.markers)
        out +=
            fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"/>", lx + 11, ly, color);
      out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 27, ly + 4, escape(s.label));
    }
  }
  return out + "</g>\n";
}

}  // namespace

const std::string& palette(size_t i) {
  static const std::vector<std::string> colors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                  "#bcbd22", "#17becf"};
  return colors[i % colors.size()];
}

std::string figure(const std::string& title, const std::vector<Panel>& panels) {
  const double width = kPanelWidth * static_cast<double>(std::max<size_t>(1, panels.size()));
  const double height = kPanelHeight + 30;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-family=\"sans-serif\" font-size=\"17\" "
      "text-anchor=\"middle\">{3}</text>\n<g transform=\"translate(0,30)\">\n",
      width, height, width / 2, escape(title));
  for (size_t i = 0; i < panels.size(); ++i)
    out += panel(panels[i], kPanelWidth * static_cast<double>(i));
  return out + "</g>\n</svg>\n";
}

}  // namespace torchinit::svg
