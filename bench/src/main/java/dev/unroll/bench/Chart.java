package dev.unroll.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;

/**
 * A grouped bar chart of tokens/s per shape, one bar per configuration (benchmark, backend, threads), on a log
 * scale since the shapes differ by orders of magnitude. Drawn with java.awt, headless.
 */
final class Chart {
  private Chart() {}

  private static final int WIDTH = 1100;
  private static final int HEIGHT = 560;
  private static final int LEFT = 90;
  private static final int RIGHT = 260;
  private static final int TOP = 50;
  private static final int BOTTOM = 60;
  private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xaec7e8), new Color(0xff7f0e),
      new Color(0xffbb78), new Color(0x2ca02c), new Color(0x98df8a), new Color(0xd62728), new Color(0x9467bd)};

  static void write(List<Report.Row> rows, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Set<String> shapes = new LinkedHashSet<>();
    Set<String> configs = new LinkedHashSet<>();
    Map<String, Double> values = new LinkedHashMap<>();
    for (Report.Row r : rows) {
      shapes.add(r.shape());
      String config = label(r);
      configs.add(config);
      values.put(r.shape() + "/" + config, r.tokensPerSecond());
    }
    List<String> configList = new ArrayList<>(configs);
    configList.sort(null);
    double min = Double.MAX_VALUE;
    double max = 0;
    for (double v : values.values()) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    int lo = (int) Math.floor(Math.log10(Math.max(min, 1e-3)));
    int hi = (int) Math.ceil(Math.log10(Math.max(max, 1e-3)));
    if (hi == lo) {
      hi++;
    }

    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, WIDTH, HEIGHT);
      int plotW = WIDTH - LEFT - RIGHT;
      int plotH = HEIGHT - TOP - BOTTOM;
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
      g.drawString("Unroll: tokens/s per shape (log scale)", LEFT, TOP - 20);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      // grid and axis labels, one line per power of ten
      for (int e = lo; e <= hi; e++) {
        int y = TOP + plotH - (int) Math.round((double) (e - lo) / (hi - lo) * plotH);
        g.setColor(new Color(0xdddddd));
        g.drawLine(LEFT, y, LEFT + plotW, y);
        g.setColor(Color.BLACK);
        String label = e >= 0 && e <= 6 ? String.format(java.util.Locale.ROOT, "%,d", (long) Math.pow(10, e))
            : "1e" + e;
        g.drawString(label, LEFT - 8 - g.getFontMetrics().stringWidth(label), y + 4);
      }
      g.setStroke(new BasicStroke(1.5f));
      g.drawLine(LEFT, TOP, LEFT, TOP + plotH);
      g.drawLine(LEFT, TOP + plotH, LEFT + plotW, TOP + plotH);
      // bars
      int groupW = plotW / Math.max(1, shapes.size());
      int barW = Math.max(4, (groupW - 30) / Math.max(1, configList.size()));
      int s = 0;
      for (String shape : shapes) {
        int gx = LEFT + s * groupW + 15;
        for (int c = 0; c < configList.size(); c++) {
          Double v = values.get(shape + "/" + configList.get(c));
          if (v == null || v <= 0) {
            continue;
          }
          double frac = (Math.log10(v) - lo) / (hi - lo);
          int h = (int) Math.round(Math.max(0, frac) * plotH);
          g.setColor(COLORS[c % COLORS.length]);
          g.fillRect(gx + c * barW, TOP + plotH - h, barW - 2, h);
        }
        g.setColor(Color.BLACK);
        int w = g.getFontMetrics().stringWidth(shape);
        g.drawString(shape, LEFT + s * groupW + (groupW - w) / 2, TOP + plotH + 20);
        s++;
      }
      // legend
      int ly = TOP + 10;
      for (int c = 0; c < configList.size(); c++) {
        g.setColor(COLORS[c % COLORS.length]);
        g.fillRect(WIDTH - RIGHT + 20, ly + c * 22, 14, 14);
        g.setColor(Color.BLACK);
        g.drawString(configList.get(c), WIDTH - RIGHT + 42, ly + c * 22 + 12);
      }
    } finally {
      g.dispose();
    }
    ImageIO.write(image, "png", file.toFile());
  }

  private static String label(Report.Row r) {
    return r.benchmark() + ", " + r.backend() + (r.backend().equals("SIMD") ? ", " + r.threads()
        + (r.threads() == 1 ? " thread" : " threads") : "");
  }
}
