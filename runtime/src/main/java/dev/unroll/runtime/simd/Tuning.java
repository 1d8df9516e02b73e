package dev.unroll.runtime.simd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the SIMD kernels choose for the machine the JVM runs on, once, at class initialisation: the vector species,
 * the GEMM's register block and its panel sizes. Nothing here is timed (results must not depend on how busy the
 * machine is): the species is the one the JVM prefers, the panel sizes follow from the sizes of the caches, and the
 * choice, with where each number came from, is {@link #describe()}, which the benchmark report prints.
 *
 * <p><b>Species</b>: {@link FloatVector#SPECIES_PREFERRED}, the widest the CPU runs at full speed (16 lanes with
 * AVX-512, 8 with AVX2).
 *
 * <p><b>Register block</b>: six rows of c by two vectors of columns ({@link #ROWS} by {@link #VECTORS}), on AVX2's
 * 16 vector registers and on AVX-512's 32 alike: twelve accumulators, two vectors of b and a broadcast of a take 15
 * registers, and twelve independent FMAs per k cover the FMA latency on two pipes. With 32 registers a 6x4 or 12x2
 * block would fit, but in earlier trials both made the kernel's loop exceed C2's inlining budget (see
 * {@link Vectors}), and their accumulators were then allocated; the 6x2 kernel is the only one there is.
 *
 * <p><b>Panel sizes</b>, from the data cache of level 1 and the cache of level 2 (read on Linux from
 * {@code /sys/devices/system/cpu/cpu0/cache/index*}/{@code level}, {@code type}, {@code size}):
 * <ul>
 *   <li>{@link #KC}, the terms per block: the largest power of two for which a tile's six rows of a and a sliver of
 *   the packed panel ({@code KC} terms by two vectors) fit in L1d together, {@code (6 + 2·lanes) · KC · 4 bytes <=
 *   L1d}. A tile's rows of a are read again for every sliver of the panel, so they must stay in L1 while the
 *   slivers stream through it; rounding down to a power of two leaves between a half and all of L1 to them, the
 *   rest to the tile's rows of c and the lines being prefetched. Within [16, 1024].
 *   <li>{@link #NC}, the columns per block: the packed panel ({@code KC} by {@code NC}, which every tile of rows
 *   reads again) takes an eighth of L2, {@code NC} a multiple of the register block's width (two vectors) and at
 *   most 1024.
 *   <li>{@link #MB}, the rows of a transposed operand copied at a time: three quarters of L2, a multiple of six
 *   (the tile's rows). Those rows meet every panel of b while the panel is packed beside them, so the copied rows,
 *   one panel and the rows of c in flight share L2: three quarters, an eighth and an eighth.
 * </ul>
 * On the machine the fixed sizes were measured on (AMD EPYC Zen 5: 48 KiB L1d, 1 MiB L2, AVX-512) this gives the
 * sizes measured best there, KC 256, NC 128, MB 768, which are also what a machine gets whose caches cannot be read
 * (not Linux, or a virtual machine that hides them): the reason is then part of {@link #describe()}. Cache sizes
 * outside what any core has (L1d within [16 KiB, 256 KiB], L2 within [128 KiB, 8 MiB]; a hypervisor may report
 * anything) are clamped to those bounds, and the clamp is named in {@link #describe()} too.
 *
 * <p>The sizes change the blocking only, never the bits: every element of c takes its terms in the order of k
 * whatever KC, NC and MB are (see {@link Gemm}), so a result is the same on any thread count and with any sizes.
 */
public final class Tuning {

  /** The vector species of every SIMD kernel: the one the CPU prefers. */
  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  /** Rows of c in the GEMM's register block. */
  static final int ROWS = 6;

  /** Vectors of columns of c in the GEMM's register block. */
  static final int VECTORS = 2;

  /** Where the caches are described on Linux. */
  static final Path SYSFS_CACHES = Path.of("/sys/devices/system/cpu/cpu0/cache");

  /** The caches assumed where none can be read: those of the machine the fixed sizes were measured on. */
  static final Caches FALLBACK = new Caches(48 * 1024, 1024 * 1024, "");

  private static final long MIN_L1D = 16 * 1024;
  private static final long MAX_L1D = 256 * 1024;
  private static final long MIN_L2 = 128 * 1024;
  private static final long MAX_L2 = 8 * 1024 * 1024;

  private static final Blocking CHOSEN = Blocking.of(Caches.read(SYSFS_CACHES), SPECIES.length());

  /** Terms (k) per block of a GEMM. */
  static final int KC = CHOSEN.kc();

  /** Columns of c per block of a GEMM. */
  static final int NC = CHOSEN.nc();

  /** Rows of a transposed GEMM operand copied at a time. */
  static final int MB = CHOSEN.mb();

  private Tuning() {}

  /**
   * The choice in one line, with where each number came from, e.g. "512-bit vectors (16 floats, the preferred
   * species); register block 6 rows x 2 vectors; GEMM blocks KC 256, NC 128, MB 768 from L1d 48 KiB, L2 1 MiB
   * (/sys/devices/system/cpu/cpu0/cache)".
   */
  public static String describe() {
    return CHOSEN.describe(SPECIES.vectorBitSize(), SPECIES.length());
  }

  /**
   * The sizes of the data cache of level 1 and of the cache of level 2 in bytes, clamped to what a core has, and
   * where they came from (a folder, or why they are assumed, and any clamp).
   */
  record Caches(long l1d, long l2, String source) {

    /**
     * The caches that {@code folder} (laid out as Linux's {@code /sys/devices/system/cpu/cpu0/cache}) describes, or
     * {@link Tuning#FALLBACK} with the reason when it cannot be read or lacks a level.
     */
    static Caches read(Path folder) {
      long l1d = 0;
      long l2 = 0;
      List<Path> indexes;
      try (Stream<Path> s = Files.list(folder)) {
        indexes = s.filter(p -> p.getFileName().toString().startsWith("index")).sorted().toList();
      } catch (IOException | UncheckedIOException e) {
        return assumed("no cache sizes in " + folder + " (" + e.getClass().getSimpleName() + ")");
      }
      for (Path index : indexes) {
        Path file = index.resolve("level"); // the file being read, for the message
        try {
          int level = Integer.parseInt(text(file));
          file = index.resolve("type");
          String type = text(file);
          file = index.resolve("size");
          long size = size(text(file));
          if (level == 1 && (type.equals("Data") || type.equals("Unified"))) {
            l1d = size;
          } else if (level == 2 && (type.equals("Data") || type.equals("Unified"))) {
            l2 = size;
          }
        } catch (IOException | IllegalArgumentException e) {
          return assumed("cannot read " + file + " (" + e.getMessage() + ")");
        }
      }
      if (l1d == 0 || l2 == 0) {
        return assumed(folder + " names no " + (l1d == 0 ? "level-1 data cache" : "level-2 cache"));
      }
      return clamped(l1d, l2, folder.toString());
    }

    /** {@link Tuning#FALLBACK}, with the reason it is used. */
    private static Caches assumed(String why) {
      return new Caches(FALLBACK.l1d, FALLBACK.l2, "assumed: " + why);
    }

    /** The sizes within a core's bounds, the source naming any clamp. */
    static Caches clamped(long l1d, long l2, String source) {
      List<String> clamps = new ArrayList<>();
      long l1 = clamp("L1d", l1d, MIN_L1D, MAX_L1D, clamps);
      long two = clamp("L2", l2, MIN_L2, MAX_L2, clamps);
      return new Caches(l1, two, clamps.isEmpty() ? source : source + "; " + String.join(", ", clamps));
    }

    private static long clamp(String name, long bytes, long min, long max, List<String> clamps) {
      long c = Math.max(min, Math.min(max, bytes));
      if (c != bytes) {
        clamps.add(name + " " + bytes(bytes) + " is outside " + bytes(min) + ".." + bytes(max) + ", taken as "
            + bytes(c));
      }
      return c;
    }

    /** A file's text, trimmed. */
    private static String text(Path file) throws IOException {
      return Files.readString(file, StandardCharsets.US_ASCII).strip();
    }

    /** Linux's cache size, "48K" (its form), "1M", "1G" or bytes. */
    static long size(String text) {
      String t = text.strip().toUpperCase(Locale.ROOT);
      long unit = 1;
      if (t.endsWith("K") || t.endsWith("M") || t.endsWith("G")) {
        unit = t.endsWith("K") ? 1L << 10 : t.endsWith("M") ? 1L << 20 : 1L << 30;
        t = t.substring(0, t.length() - 1);
      }
      try {
        long n = Long.parseLong(t);
        if (n <= 0) {
          throw new NumberFormatException();
        }
        return n * unit;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("size '" + text + "' is not a positive number of bytes, K, M or G");
      }
    }
  }

  /** The GEMM's blocks for some caches and vector length (see the class comment for the rule). */
  record Blocking(int kc, int nc, int mb, Caches caches) {

    static Blocking of(Caches caches, int lanes) {
      int width = VECTORS * lanes;
      long perTerm = (long) (ROWS + width) * Float.BYTES;
      int kc = Math.max(16, Math.min(1024, Integer.highestOneBit((int) Math.min(Integer.MAX_VALUE,
          caches.l1d() / perTerm))));
      long panelColumns = caches.l2() / 8 / ((long) kc * Float.BYTES);
      int nc = (int) Math.max(width, Math.min(1024, panelColumns / width * width));
      long rows = caches.l2() * 3 / 4 / ((long) kc * Float.BYTES);
      int mb = (int) Math.max(ROWS, rows / ROWS * ROWS);
      return new Blocking(kc, nc, mb, caches);
    }

    String describe(int bits, int lanes) {
      return bits + "-bit vectors (" + lanes + " floats, the preferred species); register block " + ROWS
          + " rows x " + VECTORS + " vectors (the only micro-kernel); GEMM blocks KC " + kc + ", NC " + nc + ", MB "
          + mb + " from L1d " + bytes(caches.l1d()) + ", L2 " + bytes(caches.l2()) + " (" + caches.source() + ")";
    }
  }

  /** Bytes as "48 KiB", "1 MiB" or "1536 B". */
  static String bytes(long b) {
    if (b % (1 << 20) == 0) {
      return b / (1 << 20) + " MiB";
    }
    return b % 1024 == 0 ? b / 1024 + " KiB" : b + " B";
  }
}
