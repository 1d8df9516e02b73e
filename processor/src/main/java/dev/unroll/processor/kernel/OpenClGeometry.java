package dev.unroll.processor.kernel;

/**
 * The shapes of OpenCL work the catalogue's kernels take, and the constants of the runtime's {@code ops.cl} they
 * depend on ({@code KernelCatalogueTest} reads them there).
 *
 * <p>Element-wise ops take one item per element; row ops (layernorm, rmsnorm, softmax) one work-group per row, a
 * power of two of at most 256 items; per-channel gradient sums one item per channel; matrix products
 * {@value #GROUP} x {@value #GROUP} work-groups over {@value #TILE} x {@value #TILE} output tiles, each item
 * {@value #PER_ITEM} x {@value #PER_ITEM} outputs, k in steps of {@value #TILE_K} staged in {@value #TILE_FLOATS}
 * floats of local memory, or, for at most {@value #VEC_ROWS} rows, one work-group of {@value #VEC_GROUP} per output;
 * training attention one work-group per (batch, head) over the query rows, decoding attention one per head over the
 * cached positions. Work-groups never exceed 256 items, nor local scratch 16 KB.
 */
public final class OpenClGeometry {
  private OpenClGeometry() {}

  /** The largest work-group. */
  public static final int MAX_GROUP = 256;

  /** Side of a GEMM work-group (items): {@code ops.cl}'s {@code UK_TILE}. */
  public static final int GROUP = 16;

  /** Outputs per item of a GEMM along each side. */
  public static final int PER_ITEM = 4;

  /** Side of a GEMM output tile, {@code GROUP * PER_ITEM}: {@code UK_GEMM_T}. */
  public static final int TILE = GROUP * PER_ITEM;

  /** Depth of the k-steps of a GEMM: {@code UK_GEMM_TK}. */
  public static final int TILE_K = 16;

  /**
   * Floats per row of the GEMM's staged b: a tile's width and two more, so that the transposing stores of a GPU
   * warp hit distinct banks ({@code UK_GEMM_LDB}).
   */
  public static final int B_ROW = TILE + 2;

  /** Floats of local scratch of the GEMM: the {@code TILE x TILE_K} block of a, and {@code TILE_K} rows of b. */
  public static final int TILE_FLOATS = TILE * TILE_K + TILE_K * B_ROW;

  /** Matrix products of at most this many rows (decoding) run as matrix-vector products. */
  public static final int VEC_ROWS = 4;

  /** Items per output of a matrix-vector product. */
  public static final int VEC_GROUP = 64;

  /** One item per element of n, in work-groups of up to 256. */
  static Phase flat(String suffix, long n) {
    long local = group(n);
    return new Phase(suffix, new long[] {roundUp(n, local)}, new long[] {local}, 0);
  }

  /** One work-group per row of n rows of width, reducing with {@code sums} floats of scratch per item. */
  static Phase rows(String suffix, long n, long width, int sums) {
    long local = pow2Group(width);
    return new Phase(suffix, new long[] {local * Math.max(1, n)}, new long[] {local}, (int) local * sums);
  }

  /** Items over the v columns of each of n rows, one row per work-group row. */
  static Phase columns(String suffix, long n, long v) {
    long local = group(v);
    return new Phase(suffix, new long[] {roundUp(v, local), n}, new long[] {local, 1}, 0);
  }

  /**
   * A product with m rows and n columns of output: a tiled GEMM, one {@code GROUP x GROUP} work-group per
   * {@code TILE x TILE} tile, dimension 0 along the columns.
   */
  static Phase gemm(String suffix, long m, long n) {
    return new Phase(suffix, new long[] {roundUp(n, TILE) / PER_ITEM, roundUp(m, TILE) / PER_ITEM},
        new long[] {GROUP, GROUP}, TILE_FLOATS);
  }

  /**
   * The forward product of n rows by oc columns: for at most {@link #VEC_ROWS} rows the matrix-vector phase
   * {@code _vec} (one work-group per output column and row), else the GEMM.
   */
  static Phase product(long n, long oc) {
    return n <= VEC_ROWS
        ? new Phase("_vec", new long[] {VEC_GROUP, oc, n}, new long[] {VEC_GROUP, 1, 1}, VEC_GROUP)
        : gemm("", n, oc);
  }

  /** One work-group per (batch, head) pair, its items over the t positions. */
  static Phase attention(String suffix, long heads, long t) {
    long local = group(t);
    return new Phase(suffix, new long[] {local, Math.max(1, heads)}, new long[] {local, 1}, 0);
  }

  /** One work-group per head, its items over the t cached positions, with a float of scratch each. */
  static Phase decoding(long heads, long t) {
    long local = pow2Group(t);
    return new Phase("", new long[] {local, heads}, new long[] {local, 1}, (int) local);
  }

  /** A work-group size for n items: n rounded up to a multiple of 32, at most 256. */
  private static long group(long n) {
    return Math.min(MAX_GROUP, roundUp(Math.max(1, n), 32));
  }

  /** A power-of-two work-group size for n items, 32 to 256. */
  private static long pow2Group(long n) {
    long g = 32;
    while (g < n && g < MAX_GROUP) {
      g *= 2;
    }
    return g;
  }

  private static long roundUp(long n, long multiple) {
    return Math.max(1, (n + multiple - 1) / multiple) * multiple;
  }
}
