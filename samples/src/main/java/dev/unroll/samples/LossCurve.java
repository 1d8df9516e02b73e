package dev.unroll.samples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A run's losses by step: the training loss of every step and the validation loss where it was measured. Written
 * beside the model as CSV ({@code step,train_loss,val_loss}; an empty field where there is no value) and as a PNG
 * plot of both against the step.
 */
final class LossCurve {
  static final int WIDTH = 900;
  static final int HEIGHT = 540;
  /** Largest over smallest loss above which the loss axis is logarithmic. */
  static final int LOG_SPAN = 20;
  private static final String TRAIN_KEY = "curve.train";
  private static final String VALIDATION_KEY = "curve.validation";

  private final String title;
  private final String validationName;
  private final float[] train;
  private final float[] validation;

  /**
   * An empty curve for steps 0 to {@code steps}; {@code title} heads the plot, {@code validationName} names the
   * validation loss in its legend.
   */
  LossCurve(String title, String validationName, int steps) {
    this.title = title;
    this.validationName = validationName;
    train = new float[steps + 1];
    validation = new float[steps + 1];
    Arrays.fill(train, Float.NaN);
    Arrays.fill(validation, Float.NaN);
  }

  void train(int step, float loss) {
    train[step] = loss;
  }

  void validation(int step, float loss) {
    validation[step] = loss;
  }

  /** The last validation loss measured, or NaN when none was. */
  float lastValidation() {
    for (int step = validation.length - 1; step >= 0; step--) {
      if (!Float.isNaN(validation[step])) {
        return validation[step];
      }
    }
    return Float.NaN;
  }

  /** Writes the losses of steps 0 to {@code step} into a checkpoint's state, exactly. */
  void save(TrainingState state, int step) {
    state.putFloats(TRAIN_KEY, train, step + 1);
    state.putFloats(VALIDATION_KEY, validation, step + 1);
  }

  /** Sets the losses of steps 0 to {@code step} from a checkpoint's state, as {@link #save} wrote them. */
  void restore(TrainingState state, int step) throws SampleException {
    state.getFloats(TRAIN_KEY, train, step + 1);
    state.getFloats(VALIDATION_KEY, validation, step + 1);
  }

  /** The CSV file that goes beside {@code model}: its name with the extension replaced by {@code .loss.csv}. */
  static Path csvFile(Path model) {
    return beside(model, ".loss.csv");
  }

  /** The PNG file that goes beside {@code model}: its name with the extension replaced by {@code .loss.png}. */
  static Path pngFile(Path model) {
    return beside(model, ".loss.png");
  }

  /** Writes the CSV and the PNG beside {@code model}, each atomically, and says where. */
  void writeBeside(Path model, PrintStream out) throws SampleException {
    Path csv = csvFile(model);
    Path png = pngFile(model);
    SampleFiles.write(csv, csv().getBytes(StandardCharsets.UTF_8));
    SampleFiles.write(png, png());
    out.println("wrote the loss curve to " + csv + " and " + png);
  }

  /** One line per step that has a value; losses as {@link Float#toString}, which reads back exactly. */
  String csv() {
    StringBuilder csv = new StringBuilder("step,train_loss,val_loss\n");
    for (int step = 0; step < train.length; step++) {
      if (Float.isNaN(train[step]) && Float.isNaN(validation[step])) {
        continue;
      }
      csv.append(step).append(',');
      if (!Float.isNaN(train[step])) {
        csv.append(train[step]);
      }
      csv.append(',');
      if (!Float.isNaN(validation[step])) {
        csv.append(validation[step]);
      }
      csv.append('\n');
    }
    return csv.toString();
  }

  /**
   * The plot as PNG bytes, {@link #WIDTH} by {@link #HEIGHT}: training loss as a thin line, validation loss as
   * points joined by a thicker one. The loss axis is logarithmic when the losses span more than {@value #LOG_SPAN}
   * to one (the sort task's fall by orders of magnitude, and a ratio reads the same at any height), linear
   * otherwise (XChart labels a logarithmic axis only at powers of ten, so a text run from 5.5 to 1.9 would show
   * none).
   */
  byte[] png() {
    // Charts are drawn into an image: no display needed, and none must be opened.
    System.setProperty("java.awt.headless", "true");
    boolean logarithmic = span() > LOG_SPAN;
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("step")
        .yAxisTitle("loss (cross-entropy, nats" + (logarithmic ? "; log scale)" : ")")).build();
    XYStyler styler = chart.getStyler();
    styler.setLegendPosition(Styler.LegendPosition.InsideNE);
    styler.setChartBackgroundColor(Color.WHITE);
    styler.setPlotBackgroundColor(Color.WHITE);
    styler.setPlotGridLinesColor(new Color(0xDD, 0xDD, 0xDD));
    styler.setMarkerSize(6);
    // XChart puts a tick on every n-th step when the steps are equally spaced (0, 35, 70, ... for 1,000 steps); a
    // label only on round steps keeps only those ticks.
    long every = roundStep(train.length - 1);
    styler.setxAxisTickLabelsFormattingFunction(
        step -> step % every == 0 ? String.format(Locale.ROOT, "%,d", step.longValue()) : "");
    styler.setYAxisLogarithmic(logarithmic);
    addSeries(chart, "train loss", train, new Color(0x1F, 0x77, 0xB4), 1f, false);
    addSeries(chart, validationName, validation, new Color(0xD6, 0x27, 0x28), 2.5f, true);
    try {
      return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode the loss plot: " + e.getMessage(), e);
    }
  }

  /** The largest loss over the smallest, of both curves (1 when there are none). */
  double span() {
    double min = Double.POSITIVE_INFINITY;
    double max = 0;
    for (float[] losses : new float[][] {train, validation}) {
      for (float loss : losses) {
        if (!Float.isNaN(loss)) {
          min = Math.min(min, loss);
          max = Math.max(max, loss);
        }
      }
    }
    return max > 0 && min > 0 ? max / min : 1;
  }

  private static void addSeries(XYChart chart, String name, float[] losses, Color color, float width,
      boolean markers) {
    int n = 0;
    for (float loss : losses) {
      n += Float.isNaN(loss) ? 0 : 1;
    }
    if (n == 0) {
      return;
    }
    double[] x = new double[n];
    double[] y = new double[n];
    for (int step = 0, i = 0; step < losses.length; step++) {
      if (!Float.isNaN(losses[step])) {
        x[i] = step;
        y[i++] = losses[step];
      }
    }
    XYSeries series = chart.addSeries(name, x, y);
    series.setLineColor(color);
    series.setMarkerColor(color);
    series.setLineStyle(new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    series.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
  }

  /** A round interval (1, 2 or 5 times a power of ten) that cuts {@code steps} into five to ten parts. */
  static long roundStep(int steps) {
    long power = 1;
    while (true) {
      for (long m : new long[] {1, 2, 5}) {
        if (steps <= 10 * m * power) {
          return m * power;
        }
      }
      power *= 10;
    }
  }

  private static Path beside(Path model, String suffix) {
    String name = model.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return model.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + suffix);
  }
}
