package dev.unroll.samples;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line training display, redrawn in place with {@code '\r'}: step/total, a bar, the smoothed loss,
 * tokens per second and elapsed time. It redraws at most ten times a second, so it costs nothing next to a step.
 */
final class Progress {
  private static final int BAR_WIDTH = 24;
  private static final long REDRAW_NANOS = 100_000_000L;
  private static final float SMOOTHING = 0.9f;

  private final PrintStream out;
  private final int total;
  private final long tokensPerStep;
  private final long start = System.nanoTime();
  private final StringBuilder line = new StringBuilder(120);
  private long pausedNanos;
  private long lastDraw = start - REDRAW_NANOS;
  private int drawnStep = -1;
  private int step;
  private float smoothed = Float.NaN;
  private int drawnWidth;

  Progress(PrintStream out, int total, long tokensPerStep) {
    this.out = out;
    this.total = total;
    this.tokensPerStep = tokensPerStep;
  }

  /** Records the loss of step {@code step} (1-based) and redraws when the last redraw is old enough. */
  void update(int step, float loss) {
    this.step = step;
    smoothed = Float.isNaN(smoothed) ? loss : SMOOTHING * smoothed + (1 - SMOOTHING) * loss;
    long now = System.nanoTime();
    if (now - lastDraw >= REDRAW_NANOS || step == total) {
      lastDraw = now;
      draw(now);
    }
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

  /** Draws the last state and moves to a new line. */
  void finish() {
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

  /** Tokens per second so far, pauses excluded. */
  double tokensPerSecond() {
    double seconds = trainingSeconds();
    return seconds > 0 ? step * (double) tokensPerStep / seconds : 0;
  }

  /** The exponentially smoothed training loss. */
  float smoothedLoss() {
    return smoothed;
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
    int filled = total == 0 ? BAR_WIDTH : (int) ((long) step * BAR_WIDTH / total);
    long elapsed = (now - start) / 1_000_000_000L;
    line.setLength(0);
    line.append("step ");
    String totalText = Integer.toString(total);
    String stepText = Integer.toString(step);
    line.repeat(' ', totalText.length() - stepText.length()).append(stepText).append('/').append(totalText);
    line.append(" [").repeat('#', filled).repeat('.', BAR_WIDTH - filled).append(']');
    line.append(String.format(Locale.ROOT, " loss %.4f  %,.0f tok/s  %d:%02d", smoothed, tokensPerSecond(),
        elapsed / 60, elapsed % 60));
    int width = line.length();
    if (width < drawnWidth) {
      line.repeat(' ', drawnWidth - width);
    }
    drawnWidth = width;
    drawnStep = step;
    out.print('\r');
    out.print(line);
    out.flush();
  }
}
