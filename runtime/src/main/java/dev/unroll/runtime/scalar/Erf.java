package dev.unroll.runtime.scalar;

/**
 * The error function in double, for the reference kernels' exact GELU (the JDK has none), accurate to a few units
 * of 1e-16: for |x| &lt; 2.5 the series erf(x) = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·5···(2n+1)), whose
 * terms are all positive (no cancellation); beyond, Laplace's continued fraction for erfc,
 * erfc(x) = e^(-x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated from its 50th term back,
 * which has converged to double's precision from 2.5 on.
 */
public final class Erf {

  private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

  private static final double SQRT_PI = Math.sqrt(Math.PI);

  /** Below this |x| the series, from it the continued fraction. */
  private static final double SERIES_BOUND = 2.5;

  /** Terms of the continued fraction. */
  private static final int FRACTION_TERMS = 50;

  private Erf() {}

  /** erf(x). */
  public static double erf(double x) {
    double a = Math.abs(x);
    double r = a < SERIES_BOUND ? series(a) : 1.0 - fraction(a);
    return Math.copySign(r, x); // odd, down to erf(-0) = -0
  }

  /** erfc(x) = 1 - erf(x), without the cancellation for large x. */
  public static double erfc(double x) {
    if (x >= SERIES_BOUND) {
      return fraction(x);
    }
    if (x <= -SERIES_BOUND) {
      return 2.0 - fraction(-x);
    }
    return 1.0 - (x < 0 ? -series(-x) : series(x));
  }

  /** Φ(x), the standard normal distribution function, 0.5·erfc(-x/√2): accurate far into the lower tail too. */
  public static double normalCdf(double x) {
    return 0.5 * erfc(-x / Math.sqrt(2.0));
  }

  /** φ(x) = e^(-x²/2)/√(2π), the standard normal density. */
  public static double normalDensity(double x) {
    return Math.exp(-0.5 * x * x) / Math.sqrt(2.0 * Math.PI);
  }

  /** erf(a) for 0 &le; a &lt; {@link #SERIES_BOUND}. */
  private static double series(double a) {
    double term = a;
    double sum = a;
    for (int n = 1; term > sum * 1e-17; n++) {
      term *= 2.0 * a * a / (2 * n + 1);
      sum += term;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
  }

  /** erfc(a) for a &ge; {@link #SERIES_BOUND}. */
  private static double fraction(double a) {
    double f = a;
    for (int k = FRACTION_TERMS; k >= 1; k--) {
      f = a + 0.5 * k / f;
    }
    return Math.exp(-a * a) / (SQRT_PI * f);
  }
}
