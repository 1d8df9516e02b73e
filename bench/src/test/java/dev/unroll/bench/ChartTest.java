package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.CategoryChart;

/** The chart: one series per configuration, shapes in the report's order, a PNG written whole. */
class ChartTest {
  @TempDir
  Path dir;

  private static final List<Report.Row> ROWS = List.of(
      new Report.Row("trainingStep", "tiny", "SIMD", 1, 2, 256000, 1, 1),
      new Report.Row("trainingStep", "tiny", "SIMD", 2, 1, 512000, 1, 1),
      new Report.Row("trainingStep", "tiny", "SCALAR", 1, 20, 25600, 1, 1),
      new Report.Row("trainingStep", "gpt2", "SIMD", 1, 2000, 128, 1, 1),
      new Report.Row("trainingStep", "gpt2", "SIMD", 2, 1100, 232, 1, 1));

  @Test
  void seriesPerConfigurationShapesInOrder() {
    CategoryChart chart = Chart.chart(ROWS);
    assertEquals(List.of("trainingStep, SCALAR", "trainingStep, SIMD, 1 thread", "trainingStep, SIMD, 2 threads"),
        List.copyOf(chart.getSeriesMap().keySet()));
    assertEquals(List.of("tiny", "gpt2"), List.copyOf(chart.getSeriesMap().get("trainingStep, SCALAR").getXData()));
    assertEquals(java.util.Arrays.asList(25600.0, null),
        new java.util.ArrayList<>(chart.getSeriesMap().get("trainingStep, SCALAR").getYData()));
    assertEquals(100, chart.getStyler().getYAxisMin()); // the decades around 128 ... 512000
    assertEquals(1e6, chart.getStyler().getYAxisMax());
  }

  @Test
  void writesAPng() throws Exception {
    Path png = dir.resolve("tokens-per-second.png");
    Chart.write(ROWS, png);
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(1100, image.getWidth());
    assertEquals(560, image.getHeight());
    try (var files = Files.list(dir)) {
      assertEquals(List.of(png), files.toList()); // no temporary file left behind
    }
    String keep = System.getProperty("bench.chart.keep");
    if (keep != null) {
      Files.copy(png, Path.of(keep), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
