package dev.unroll.runtime.scalar;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link Erf} against published values (to 16 digits) and its symmetries, on both sides of its 2.5 seam. */
class ErfTest {

  /** Well within the 1e-12 the reference needs; the series and the fraction reach a few 1e-16. */
  private static final double TOL = 1e-15;

  @Test
  void knownValues() {
    assertEquals(0.0, Erf.erf(0.0));
    assertEquals(0.1124629160182849, Erf.erf(0.1), TOL);
    assertEquals(0.5204998778130465, Erf.erf(0.5), TOL);
    assertEquals(0.8427007929497149, Erf.erf(1.0), TOL);
    assertEquals(0.9661051464753108, Erf.erf(1.5), TOL);
    assertEquals(0.9953222650189527, Erf.erf(2.0), TOL);
    assertEquals(0.9995930479825550, Erf.erf(2.5), TOL);
    assertEquals(0.9999779095030014, Erf.erf(3.0), TOL);
  }

  @Test
  void tailsThroughErfc() {
    // erfc's values, relative: the continued fraction keeps its digits where 1 - erf has none left
    assertEquals(1.5374597944280349e-12, Erf.erfc(5.0), 1.5374597944280349e-12 * 1e-13);
    assertEquals(2.0884875837625448e-45, Erf.erfc(10.0), 2.0884875837625448e-45 * 1e-13);
    assertEquals(4.0695201744495894e-4, Erf.erfc(2.5), 4.0695201744495894e-4 * 1e-13);
    assertEquals(1.5374597944280349e-12, 1.0 - Erf.erf(5.0), 1e-16);
    assertEquals(2.0 - 1.5374597944280349e-12, Erf.erfc(-5.0), 1e-15);
    assertEquals(1.0, Erf.erf(30.0));
  }

  @Test
  void oddAndComplementary() {
    for (double x = -6; x <= 6; x += 0.0625) {
      assertEquals(-Erf.erf(x), Erf.erf(-x), "erf(-x) = -erf(x) at " + x);
      assertEquals(1.0, Erf.erf(x) + Erf.erfc(x), 4e-16, "erf + erfc at " + x);
    }
  }

  @Test
  void seamIsContinuous() {
    double below = Math.nextDown(2.5);
    assertEquals(Erf.erf(2.5), Erf.erf(below), 1e-15);
    assertEquals(Erf.erfc(2.5), Erf.erfc(below), 1e-15);
  }

  @Test
  void normalDistribution() {
    assertEquals(0.5, Erf.normalCdf(0.0));
    assertEquals(0.8413447460685429, Erf.normalCdf(1.0), TOL);
    assertEquals(0.15865525393145705, Erf.normalCdf(-1.0), TOL);
    // far in the lower tail, relative: Φ(-10) = erfc(10/√2)/2
    assertEquals(7.619853024160527e-24, Erf.normalCdf(-10.0), 7.619853024160527e-24 * 1e-12);
    assertEquals(0.3989422804014327, Erf.normalDensity(0.0), TOL);
    assertEquals(0.24197072451914337, Erf.normalDensity(1.0), TOL);
  }
}
