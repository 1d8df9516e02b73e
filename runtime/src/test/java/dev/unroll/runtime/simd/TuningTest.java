package dev.unroll.runtime.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.simd.Tuning.Blocking;
import dev.unroll.runtime.simd.Tuning.Caches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machine's choices: cache sizes read from a folder laid out as Linux's sysfs, the fallback with its reason,
 * absurd sizes clamped, and the blocking rule on caches of known machines.
 */
class TuningTest {

  /** One cache of a sysfs-like folder: index{n}/level, type, size. */
  private static void cache(Path folder, int index, int level, String type, String size) throws IOException {
    Path d = Files.createDirectories(folder.resolve("index" + index));
    Files.writeString(d.resolve("level"), level + "\n");
    Files.writeString(d.resolve("type"), type + "\n");
    Files.writeString(d.resolve("size"), size + "\n");
  }

  @Test
  void readsTheDataCacheOfLevelOneAndTheCacheOfLevelTwo(@TempDir Path sys) throws IOException {
    cache(sys, 0, 1, "Data", "48K");
    cache(sys, 1, 1, "Instruction", "32K");
    cache(sys, 2, 2, "Unified", "1024K");
    cache(sys, 3, 3, "Unified", "32768K");
    Caches c = Caches.read(sys);
    assertEquals(48 * 1024, c.l1d());
    assertEquals(1024 * 1024, c.l2());
    assertEquals(sys.toString(), c.source());
  }

  /** Where the sizes measured best were found: the rule gives them back. */
  @Test
  void zen5GivesTheSizesMeasuredThere() {
    Blocking b = Blocking.of(new Caches(48 * 1024, 1024 * 1024, "test"), 16);
    assertEquals(256, b.kc());
    assertEquals(128, b.nc());
    assertEquals(768, b.mb());
  }

  @Test
  void avx2WithSmallCaches() {
    // 32 KiB L1d, 256 KiB L2 (Haswell to Skylake client), 8 lanes: (6 + 16) * 4 * 256 = 22 KiB of L1d
    Blocking b = Blocking.of(new Caches(32 * 1024, 256 * 1024, "test"), 8);
    assertEquals(256, b.kc());
    assertEquals(32, b.nc()); // 32 KiB of panel
    assertEquals(192, b.mb()); // 192 KiB of rows
    // AVX-512 with 32 KiB L1d (Skylake-SP, 1 MiB L2): (6 + 32) * 4 * 256 = 38 KiB would not fit
    Blocking skx = Blocking.of(new Caches(32 * 1024, 1024 * 1024, "test"), 16);
    assertEquals(128, skx.kc());
    assertEquals(256, skx.nc());
    assertEquals(1536, skx.mb());
  }

  @Test
  void unreadableFolderFallsBackAndSaysWhy(@TempDir Path sys) {
    Caches c = Caches.read(sys.resolve("missing"));
    assertEquals(Tuning.FALLBACK.l1d(), c.l1d());
    assertEquals(Tuning.FALLBACK.l2(), c.l2());
    assertTrue(c.source().startsWith("assumed: no cache sizes in " + sys.resolve("missing")), c.source());
  }

  @Test
  void missingLevelOrBadSizeFallsBack(@TempDir Path sys) throws IOException {
    cache(sys, 0, 1, "Data", "48K");
    assertEquals("assumed: " + sys + " names no level-2 cache", Caches.read(sys).source());
    cache(sys, 1, 2, "Unified", "lots");
    String why = Caches.read(sys).source();
    assertTrue(why.startsWith("assumed: cannot read " + sys.resolve("index1").resolve("size")), why);
    assertTrue(why.contains("'lots'"), why);
  }

  @Test
  void absurdSizesAreClampedAndSaySo(@TempDir Path sys) throws IOException {
    cache(sys, 0, 1, "Data", "4M");
    cache(sys, 1, 2, "Unified", "520192K"); // 508 MiB, a hypervisor's figure
    Caches c = Caches.read(sys);
    assertEquals(256 * 1024, c.l1d());
    assertEquals(8 * 1024 * 1024, c.l2());
    assertEquals(sys + "; L1d 4 MiB is outside 16 KiB..256 KiB, taken as 256 KiB, L2 508 MiB is outside"
        + " 128 KiB..8 MiB, taken as 8 MiB", c.source());
    Blocking b = Blocking.of(c, 16);
    assertEquals(1024, b.kc());
    assertEquals(256, b.nc());
    assertEquals(1536, b.mb());
  }

  @Test
  void sizes() {
    assertEquals(48 * 1024, Caches.size("48K"));
    assertEquals(1L << 20, Caches.size("1M"));
    assertEquals(512, Caches.size("512"));
    assertThrows(IllegalArgumentException.class, () -> Caches.size("0K"));
    assertThrows(IllegalArgumentException.class, () -> Caches.size("-1K"));
  }

  /** The kernels use what Tuning chose, and its line says so. */
  @Test
  void describeNamesWhatTheKernelsUse() {
    assertEquals(Tuning.KC, Gemm.GEMM_KC);
    assertEquals(Tuning.NC, Gemm.GEMM_NC);
    assertEquals(Vectors.S, Tuning.SPECIES);
    String d = Tuning.describe();
    assertTrue(d.contains(Vectors.S.vectorBitSize() + "-bit vectors (" + Vectors.L + " floats"), d);
    assertTrue(d.contains("KC " + Tuning.KC + ", NC " + Tuning.NC + ", MB " + Tuning.MB + " from L1d "), d);
    assertTrue(Tuning.NC % (2 * Vectors.L) == 0 && Tuning.MB % 6 == 0, d);
  }
}
