package dev.unroll.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendPosition;

/**
 * A grouped bar chart of tokens/s per shape, one bar per configuration (benchmark, backend, threads), on a log
 * scale since the shapes differ by orders of magnitude. An encoder's tokens are its positions: a sentence's tokens,
 * an image's patches and its class token. Drawn with XChart (the samples' loss curves use it too),
 * headless.
 */
final class Chart {
  private Chart() {}

  /** Draws the rows' tokens/s into a PNG, written whole or not at all. */
  static void write(List<Report.Row> rows, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    CategoryChart chart = chart(rows);
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "chart", ".png.tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The chart: shapes along x in the rows' order (the report sorts them smallest first), one series per
   * configuration in name order; a configuration not run at a shape has no bar there.
   */
  static CategoryChart chart(List<Report.Row> rows) {
    Set<String> shapes = new LinkedHashSet<>();
    Map<String, Map<String, Double>> series = new TreeMap<>();
    double min = Double.POSITIVE_INFINITY;
    double max = 0;
    for (Report.Row r : rows) {
      shapes.add(r.shape());
      series.computeIfAbsent(label(r), k -> new TreeMap<>()).put(r.shape(), r.tokensPerSecond());
      min = Math.min(min, r.tokensPerSecond());
      max = Math.max(max, r.tokensPerSecond());
    }
    CategoryChart chart = new CategoryChartBuilder().width(1100).height(560)
        .title("Unroll: tokens/s per shape (encoders: positions/s; log scale)").xAxisTitle("shape").yAxisTitle("tokens/s").build();
    chart.getStyler().setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Bar);
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setLegendPosition(LegendPosition.OutsideE);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    chart.getStyler().setYAxisDecimalPattern("#,##0");
    // Whole decades around the data: XChart anchors bars at zero unless told, and a log axis cannot hold zero.
    chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min))));
    chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(max * 1.0001))));
    List<String> x = new ArrayList<>(shapes);
    for (Map.Entry<String, Map<String, Double>> s : series.entrySet()) {
      List<Double> y = new ArrayList<>();
      for (String shape : x) {
        y.add(s.getValue().get(shape)); // null: no bar
      }
      chart.addSeries(s.getKey(), x, y);
    }
    return chart;
  }

  /** A configuration's legend entry: "trainingStep, SIMD, 2 threads". */
  static String label(Report.Row r) {
    return r.benchmark() + ", " + r.backend() + (r.backend().equals("SIMD") ? ", " + r.threads()
        + (r.threads() == 1 ? " thread" : " threads") : "");
  }
}
