package dev.unroll.processor.emit;

import java.util.List;

/**
 * How each kernel of the plan runs on OpenCL: the library functions ({@code uk_<kernel><suffix>} in the runtime's
 * {@code ops.cl}) it takes, in order, and the work sizes of each, from the op's int arguments.
 *
 * <p>Convention shared with {@code ops.cl}: {@code uk_<kernel><suffix>} takes the arguments of the
 * {@code dev.unroll.runtime.kernel.Kernels} method of the same name in the same order, each {@code (array, offset)} pair
 * collapsed into one {@code __global} pointer already offset, each int as an int, then, when
 * {@link Phase#localFloats()} is positive, a {@code __local float*} of that many floats.
 *
 * <p>Geometry: element-wise ops take one item per element; row ops (layernorm, rmsnorm, softmax) one work-group
 * per row, a power of two of at most 256 items; per-channel gradient sums one item per channel; matrix products
 * {@value #GROUP} x {@value #GROUP} work-groups over {@value #TILE} x {@value #TILE} output tiles, each item
 * {@value #PER_ITEM} x {@value #PER_ITEM} outputs, k in steps of {@value #TILE_K} staged in {@value #TILE_FLOATS}
 * floats of local memory, or, for at most {@value #VEC_ROWS} rows, one work-group of {@value #VEC_GROUP} per output;
 * training attention one work-group per (batch, head) over the query rows, decoding attention one per head over the
 * cached positions. Work-groups never exceed 256 items, nor local scratch 16 KB.
 */
final class OpenClKernels {
  private OpenClKernels() {}

  /** The largest work-group. */
  static final int MAX_GROUP = 256;

  /** Side of a GEMM work-group (items). */
  static final int GROUP = 16;

  /** Outputs per item of a GEMM along each side. */
  static final int PER_ITEM = 4;

  /** Side of a GEMM output tile: {@code GROUP * PER_ITEM}. */
  static final int TILE = GROUP * PER_ITEM;

  /** Depth of the k-steps of a GEMM. */
  static final int TILE_K = 16;

  /**
   * Floats of local scratch of the GEMM ({@code ops.cl}'s {@code UK_GEMM_*}): the 64 x 16 block of a, and 16 rows
   * of 66 for b (64 used, two more so that the transposing stores of a GPU warp hit distinct banks).
   */
  static final int TILE_FLOATS = TILE * TILE_K + TILE_K * (TILE + 2);

  /** Matrix products of at most this many rows (decoding) run as matrix-vector products. */
  static final int VEC_ROWS = 4;

  /** Items per output of a matrix-vector product. */
  static final int VEC_GROUP = 64;

  /**
   * One enqueue of an op.
   *
   * @param suffix appended to {@code uk_<kernel>} to name the library function ("" for single-phase kernels)
   * @param global work sizes, 1 to 3 dimensions
   * @param local work-group sizes, same dimensions; each divides its global size
   * @param localFloats floats of {@code __local} scratch the function takes, 0 for none
   */
  record Phase(String suffix, long[] global, long[] local, int localFloats) {}

  /**
   * The phases of {@code kernel} for these int arguments (in the Kernels method's order; an int known only at run
   * time, such as the decoded position, is -1 and must not change the work sizes).
   *
   * @throws IllegalArgumentException for a kernel with no OpenCL version, or the wrong number of ints
   */
  static List<Phase> phases(String kernel, long[] ints) {
    return switch (kernel) {
      case "encoderForward" -> {
        need(kernel, ints, 3); // B, T, C
        yield List.of(flat("", ints[0] * ints[1] * ints[2]));
      }
      case "encoderBackward" -> {
        need(kernel, ints, 3);
        yield List.of(flat("_dwte", ints[2]), flat("_dwpe", ints[1] * ints[2]));
      }
      case "embeddingForward" -> {
        need(kernel, ints, 2); // N, C
        yield List.of(flat("", ints[0] * ints[1]));
      }
      case "embeddingBackward" -> {
        need(kernel, ints, 2);
        yield List.of(flat("", ints[1]));
      }
      case "copy", "geluForward", "geluBackward", "residualForward", "residualBackward", "swigluForward",
          "swigluBackward" -> {
        need(kernel, ints, 1); // n
        yield List.of(flat("", ints[0]));
      }
      case "copyRows" -> {
        need(kernel, ints, 4); // dstStride, srcStride, rows, width
        yield List.of(flat("", ints[2] * ints[3]));
      }
      case "rope" -> {
        need(kernel, ints, 7); // rows, stride, width, hs, T, pos0, sign
        yield List.of(flat("", ints[0] * (ints[2] / 2)));
      }
      case "crossEntropyForward" -> {
        need(kernel, ints, 2); // N, Vp
        yield List.of(flat("", ints[0]));
      }
      case "crossEntropySoftmaxBackward" -> {
        need(kernel, ints, 3); // N, V, Vp
        long local = group(ints[1]);
        yield List.of(new Phase("", new long[] {roundUp(ints[1], local), ints[0]}, new long[] {local, 1}, 0));
      }
      case "layernormForward", "rmsnormForward" -> {
        need(kernel, ints, 2); // N, C
        yield List.of(rows("", ints[0], ints[1], 1));
      }
      case "layernormBackward" -> {
        need(kernel, ints, 2);
        yield List.of(rows("_dinp", ints[0], ints[1], 2), flat("_dparams", ints[1]));
      }
      case "rmsnormBackward" -> {
        need(kernel, ints, 2);
        yield List.of(rows("_dinp", ints[0], ints[1], 1), flat("_dweight", ints[1]));
      }
      case "softmaxForward" -> {
        need(kernel, ints, 3); // N, V, Vp
        yield List.of(rows("", ints[0], ints[1], 1));
      }
      case "matmulForward", "matmulForwardBf16" -> {
        need(kernel, ints, 3); // N, C, OC
        long n = ints[0];
        long oc = ints[2];
        yield List.of(n <= VEC_ROWS
            ? new Phase("_vec", new long[] {VEC_GROUP, oc, n}, new long[] {VEC_GROUP, 1, 1}, VEC_GROUP)
            : gemm("", n, oc));
      }
      case "matmulBackward" -> {
        need(kernel, ints, 3); // N, C, OC
        long n = ints[0];
        long c = ints[1];
        long oc = ints[2];
        yield List.of(gemm("_dinp", n, c), gemm("_dweight", oc, c), flat("_dbias", oc));
      }
      case "attentionForward" -> {
        need(kernel, ints, 4); // B, T, C, NH
        yield List.of(attention("", ints[0] * ints[3], ints[1]));
      }
      case "attentionBackward" -> {
        need(kernel, ints, 4);
        long heads = ints[0] * ints[3];
        yield List.of(attention("_dq", heads, ints[1]), attention("_dkv", heads, ints[1]));
      }
      case "attentionForwardGqa" -> {
        need(kernel, ints, 5); // B, T, NH, KVH, hs
        yield List.of(attention("", ints[0] * ints[2], ints[1]));
      }
      case "attentionBackwardGqa" -> {
        need(kernel, ints, 5);
        yield List.of(attention("_dq", ints[0] * ints[2], ints[1]),
            attention("_dkv", ints[0] * ints[3], ints[1]));
      }
      case "attentionDecode" -> {
        need(kernel, ints, 5); // pos (run time), T, NH, KVH, hs
        long local = pow2Group(ints[1]);
        yield List.of(new Phase("", new long[] {local, ints[2]}, new long[] {local, 1}, (int) local));
      }
      default -> throw new IllegalArgumentException("no OpenCL version of " + kernel);
    };
  }

  private static void need(String kernel, long[] ints, int count) {
    if (ints.length != count) {
      throw new IllegalArgumentException(kernel + " takes " + count + " ints, not " + ints.length);
    }
  }

  /** One item per element of n, in work-groups of up to 256. */
  private static Phase flat(String suffix, long n) {
    long local = group(n);
    return new Phase(suffix, new long[] {roundUp(n, local)}, new long[] {local}, 0);
  }

  /** One work-group per row of n rows of width, reducing with {@code sums} floats of scratch per item. */
  private static Phase rows(String suffix, long n, long width, int sums) {
    long local = pow2Group(width);
    return new Phase(suffix, new long[] {local * Math.max(1, n)}, new long[] {local}, (int) local * sums);
  }

  /**
   * A tiled product with m rows and n columns of output: one {@code GROUP x GROUP} work-group per
   * {@code TILE x TILE} tile, dimension 0 along the columns.
   */
  private static Phase gemm(String suffix, long m, long n) {
    return new Phase(suffix, new long[] {roundUp(n, TILE) / PER_ITEM, roundUp(m, TILE) / PER_ITEM},
        new long[] {GROUP, GROUP}, TILE_FLOATS);
  }

  /** One work-group per (batch, head) pair, its items over the t positions. */
  private static Phase attention(String suffix, long heads, long t) {
    long local = group(t);
    return new Phase(suffix, new long[] {local, Math.max(1, heads)}, new long[] {local, 1}, 0);
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
