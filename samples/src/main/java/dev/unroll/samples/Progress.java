package dev.unroll.samples;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The training display: step/total, the smoothed loss, tokens per second and elapsed time, in one of two
 * {@linkplain Mode modes}. On a terminal one line with a bar, redrawn in place with {@code '\r'} at most ten
 * times a second, so it costs nothing next to a step; elsewhere (a CI log, a pipe, a file) a plain line every
 * tenth of the run, since a log keeps every redraw.
 */
final class Progress {
  /** How the display is written. */
  enum Mode {
    /** One line redrawn in place with {@code '\r'}, with a bar. */
    TERMINAL,
    /** Plain lines, one every tenth of the run and one at the end; never a {@code '\r'}. */
    LOG;

    /**
     * TERMINAL when {@code out} is the standard output and that is a terminal (Java 22's
     * {@link java.io.Console#isTerminal()}, which also asks it of standard input), else LOG.
     */
    static Mode of(PrintStream out) {
      java.io.Console console = System.console();
      return out == System.out && console != null && console.isTerminal() ? TERMINAL : LOG;
    }
  }

  /** Plain lines in LOG mode: this many in a run, besides the last. */
  static final int LOG_LINES = 10;
  private static final int BAR_WIDTH = 24;
  private static final long REDRAW_NANOS = 100_000_000L;
  private static final float SMOOTHING = 0.9f;

  private final PrintStream out;
  private final Mode mode;
  private final int logEvery;
  private final int total;
  private final long tokensPerStep;
  private final String rateUnit;
  private final long start = System.nanoTime();
  private final StringBuilder line = new StringBuilder(120);
  private long pausedNanos;
  private long lastDraw = start - REDRAW_NANOS;
  private int drawnStep = -1;
  private int step;
  /** The step the run started from: 0, or where it resumed. */
  private int firstStep;
  private float smoothed = Float.NaN;
  private int drawnWidth;

  /** A display for {@link Mode#of out}, its rate in tokens per second. */
  Progress(PrintStream out, int total, long tokensPerStep) {
    this(out, total, tokensPerStep, "tok", Mode.of(out));
  }

  /**
   * A display for {@link Mode#of out} whose rate counts {@code perStep} examples a step, each called {@code unit}
   * ("img" shows images/s as "img/s").
   */
  Progress(PrintStream out, int total, long perStep, String unit) {
    this(out, total, perStep, unit, Mode.of(out));
  }

  Progress(PrintStream out, int total, long tokensPerStep, Mode mode) {
    this(out, total, tokensPerStep, "tok", mode);
  }

  Progress(PrintStream out, int total, long tokensPerStep, String unit, Mode mode) {
    this.out = out;
    this.mode = mode;
    this.total = total;
    this.tokensPerStep = tokensPerStep;
    this.rateUnit = " " + unit + "/s";
    this.logEvery = Math.max(1, total / LOG_LINES);
  }

  /**
   * Records the loss of step {@code step} (1-based) and draws: on a terminal when the last redraw is old enough,
   * in a log at every tenth of the run; both at the last step.
   */
  void update(int step, float loss) {
    this.step = step;
    smoothed = Float.isNaN(smoothed) ? loss : SMOOTHING * smoothed + (1 - SMOOTHING) * loss;
    long now = System.nanoTime();
    boolean due = mode == Mode.TERMINAL ? now - lastDraw >= REDRAW_NANOS : step % logEvery == 0;
    if (due || step == total) {
      lastDraw = now;
      draw(now);
    }
  }

  /**
   * Continues a run resumed after step {@code step} whose smoothed loss was {@code smoothed}: the loss goes on
   * smoothing from there, and the rate counts only the steps taken from here.
   */
  void resumeAt(int step, float smoothed) {
    this.step = step;
    this.firstStep = step;
    this.smoothed = smoothed;
  }

  /** Steps taken since the display was made (since the run resumed, for a resumed one). */
  int stepsRun() {
    return step - firstStep;
  }

  /** Clears the display and stops the clock (for an evaluation, say) until {@link #resume()}. */
  void pause() {
    clear();
    pausedNanos -= System.nanoTime();
  }

  /** Restarts the clock stopped by {@link #pause()}. */
  void resume() {
    pausedNanos += System.nanoTime();
  }

  /** Prints {@code message} on its own line; the display is redrawn below it at the next update. */
  void println(String message) {
    clear();
    out.println(message);
    out.flush();
  }

  /** Draws the last state, unless it is on show already, and ends its line. */
  void finish() {
    if (mode == Mode.LOG) {
      if (drawnStep != step) {
        draw(System.nanoTime());
      }
      return;
    }
    if (drawnStep != step || drawnWidth == 0) {
      draw(System.nanoTime());
    }
    out.println();
    out.flush();
    drawnWidth = 0;
  }

  /** Seconds spent training so far, pauses excluded. */
  double trainingSeconds() {
    return (System.nanoTime() - start - pausedNanos) / 1e9;
  }

  /** Seconds since the display was made, pauses included. */
  double wallSeconds() {
    return (System.nanoTime() - start) / 1e9;
  }

  /** Tokens (or the examples of the display's unit) per second so far, pauses excluded. */
  double tokensPerSecond() {
    double seconds = trainingSeconds();
    return seconds > 0 ? stepsRun() * (double) tokensPerStep / seconds : 0;
  }

  /** The exponentially smoothed training loss. */
  float smoothedLoss() {
    return smoothed;
  }

  /**
   * A loss for display: four decimals, or three significant digits below 0.001, where four decimals would show
   * 0.0000 for a sort-task loss still falling by orders of magnitude.
   */
  static String loss(float value) {
    return String.format(Locale.ROOT, value >= 1e-3f || value == 0 || Float.isNaN(value) ? "%.4f" : "%.2e", value);
  }

  private void clear() {
    if (drawnWidth > 0) {
      line.setLength(0);
      line.append('\r').repeat(' ', drawnWidth).append('\r');
      out.print(line);
      drawnWidth = 0;
    }
  }

  private void draw(long now) {
    long elapsed = (now - start) / 1_000_000_000L;
    line.setLength(0);
    line.append("step ");
    String totalText = Integer.toString(total);
    String stepText = Integer.toString(step);
    line.repeat(' ', totalText.length() - stepText.length()).append(stepText).append('/').append(totalText);
    if (mode == Mode.TERMINAL) {
      int filled = total == 0 ? BAR_WIDTH : (int) ((long) step * BAR_WIDTH / total);
      line.append(" [").repeat('#', filled).repeat('.', BAR_WIDTH - filled).append(']');
    }
    line.append(" loss ").append(loss(smoothed));
    line.append(String.format(Locale.ROOT, "  %,.0f", tokensPerSecond())).append(rateUnit);
    line.append(String.format(Locale.ROOT, "  %d:%02d", elapsed / 60, elapsed % 60));
    drawnStep = step;
    if (mode == Mode.LOG) {
      out.println(line);
      out.flush();
      return;
    }
    int width = line.length();
    if (width < drawnWidth) {
      line.repeat(' ', drawnWidth - width);
    }
    drawnWidth = width;
    out.print('\r');
    out.print(line);
    out.flush();
  }
}
